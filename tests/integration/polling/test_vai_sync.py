"""VAI's events API: incremental sync over a frozen window, checkpoint only ever forwards."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eventhub.demo import VaiFake
from functions.errors import ProviderAuthFailed, ProviderUnavailable
from functions.logic.polling import MalformedPage, PollServices, RunOutcome
from functions.models.event import event_id_for, format_timestamp
from tests.integration.polling.conftest import TENANT, poll_config, run, stored_source_ids

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _since(hours: float) -> dict[str, str]:
    return {"since": format_timestamp(T0 - timedelta(hours=hours))}


def test_a_sync_over_several_pages_stores_the_fakes_full_set(vai: VaiFake, services: PollServices, aws):
    # Given 250 VAI events over the last 30 minutes (three pages of 100)
    vai.add_events(250, start=T0 - timedelta(minutes=30), end=T0 - timedelta(seconds=1))
    # When the first sync runs
    summary = run("vai-pull", poll_config(vai=vai, **_since(1)), services, now=T0)
    # Then the stored set is the fake's set, and the checkpoint is the run's start
    assert summary.outcome is RunOutcome.COMPLETED
    assert (summary.seen, summary.new, summary.pages) == (250, 250, 3)
    assert set(stored_source_ids(aws, "vai")) == vai.ids
    assert services.store.get_checkpoint("vai-pull") == format_timestamp(T0)


def test_stored_vai_events_keep_vais_fields_and_the_connections_tenant(vai: VaiFake, services: PollServices):
    # Given one VAI event of another tenant id in its payload
    (event,) = vai.add_events(1, start=T0 - timedelta(minutes=5), end=T0 - timedelta(minutes=4))
    # When it is synced
    run("vai-pull", poll_config(vai=vai, **_since(1)), services, now=T0)
    # Then its fields are VAI's and its tenant is the connection's
    stored = services.store.get(event_id_for(TENANT, "vai", event["id"]))
    assert stored is not None
    assert stored.tenant_id == TENANT != event["tenantId"]
    got = stored.model_dump(by_alias=True)
    for name in ("eventType", "actorType", "actorId", "resourceType", "resourceId", "correlationId"):
        assert got[name] == event[name]
    assert stored.payload == event["payload"]


def test_the_first_sync_starts_24_hours_back_without_since(vai: VaiFake, services: PollServices, aws):
    # Given events 23 h and 25 h before the run
    vai.add_events(1, start=T0 - timedelta(hours=23), end=T0 - timedelta(hours=23))
    vai.add_events(1, start=T0 - timedelta(hours=25), end=T0 - timedelta(hours=25))
    # When the first sync runs without a `since`
    summary = run("vai-pull", poll_config(vai=vai), services, now=T0)
    # Then the window began 24 h back: only the newer one is stored
    assert summary.window_from == format_timestamp(T0 - timedelta(hours=24))
    assert len(stored_source_ids(aws, "vai")) == 1


def test_events_inserted_during_the_sync_are_stored_by_the_next_run(
    vai: VaiFake, services: PollServices, aws
):
    # Given 300 events, and a provider that gains new events while the sync pages through
    vai.add_events(300, start=T0 - timedelta(minutes=50), end=T0 - timedelta(minutes=1))
    late: list[dict] = []

    def insert_during_sync(request) -> None:
        if request.path == "/api/v1/events" and request.query.get("offset") in ("100", "200"):
            late.append(vai.insert(vai.make_event(T0 + timedelta(seconds=len(late) + 1))))  # after `to`
            late.append(vai.insert(vai.make_event(T0 - timedelta(seconds=30 + len(late)))))  # late, in window

    vai.on_request(insert_during_sync)
    config = poll_config(vai=vai, **_since(1))
    # When one run syncs, then the next one runs a minute later
    run("vai-pull", config, services, now=T0)
    vai.clear_hooks()
    second = run("vai-pull", config, services, now=T0 + timedelta(minutes=1))
    # Then nothing the provider has is missing, and nothing is stored twice
    stored = stored_source_ids(aws, "vai")
    assert len(late) == 4
    assert set(stored) == vai.ids and len(stored) == len(set(stored))
    assert second.new >= 2 and second.duplicates > 0  # the lookback overlap collapsed on ids


def test_a_malformed_page_fails_the_run_stores_none_of_it_and_keeps_the_checkpoint(
    vai: VaiFake, services: PollServices, aws
):
    # Given a first sync that set the checkpoint, then 250 new events
    config = poll_config(vai=vai, **_since(1))
    run("vai-pull", config, services, now=T0)
    vai.add_events(250, start=T0 + timedelta(seconds=1), end=T0 + timedelta(minutes=4))
    # ... and a provider whose second page has one event without its eventType
    vai.on_request(lambda r: vai.malformed_next("missing_field") if r.query.get("offset") == "100" else None)
    # When the next run syncs
    with pytest.raises(MalformedPage, match="event 99 of the page"):
        run("vai-pull", config, services, now=T0 + timedelta(minutes=5))
    # Then the first page is stored, none of the second, and the checkpoint has not moved
    assert len(stored_source_ids(aws, "vai")) == 100
    assert services.store.get_checkpoint("vai-pull") == format_timestamp(T0)


@pytest.mark.parametrize("kind", ["bad_json", "missing_envelope"])
def test_a_page_that_is_not_the_promised_shape_fails_the_run(vai: VaiFake, services: PollServices, aws, kind):
    # Given events and a provider answering the first page broken
    vai.add_events(5, start=T0 - timedelta(minutes=5), end=T0 - timedelta(minutes=1))
    vai.malformed_next(kind)
    # When a run syncs
    with pytest.raises(MalformedPage):
        run("vai-pull", poll_config(vai=vai, **_since(1)), services, now=T0)
    # Then nothing is stored and no checkpoint exists
    assert stored_source_ids(aws, "vai") == []
    assert services.store.get_checkpoint("vai-pull") is None


def test_an_auth_failure_midway_never_advances_the_checkpoint(vai: VaiFake, services: PollServices, aws):
    # Given a checkpoint, new events over two pages, and a key revoked after the first page
    config = poll_config(vai=vai, **_since(1))
    run("vai-pull", config, services, now=T0)
    vai.add_events(150, start=T0 + timedelta(seconds=1), end=T0 + timedelta(minutes=4))

    def revoke(request) -> None:
        if request.query.get("offset") == "100":
            vai.reject_credentials = True

    vai.on_request(revoke)
    # When the next run syncs
    with pytest.raises(ProviderAuthFailed):
        run("vai-pull", config, services, now=T0 + timedelta(minutes=5))
    # Then the checkpoint is where it was
    assert services.store.get_checkpoint("vai-pull") == format_timestamp(T0)


def test_a_long_backlog_advances_the_checkpoint_chunk_by_chunk(vai: VaiFake, services: PollServices, aws):
    # Given events over the last 3 hours and a run whose provider fails in the last hour
    vai.add_events(30, start=T0 - timedelta(hours=3), end=T0 - timedelta(minutes=1))
    failing = {"on": False}

    def fail_in_last_hour(request) -> None:
        if request.query.get("from", "") >= format_timestamp(T0 - timedelta(hours=1)) and not failing["on"]:
            failing["on"] = True
            vai.outage(times=10)

    vai.on_request(fail_in_last_hour)
    # When the first sync (since 3 h back) runs
    with pytest.raises(ProviderUnavailable):
        run("vai-pull", poll_config(vai=vai, **_since(3)), services, now=T0)
    # Then the two hours it finished are kept: the checkpoint stands an hour before the run
    assert services.store.get_checkpoint("vai-pull") == format_timestamp(T0 - timedelta(hours=1))
    assert 0 < len(stored_source_ids(aws, "vai")) < 30


def test_a_second_run_while_one_holds_the_lease_is_skipped(vai: VaiFake, services: PollServices, aws):
    # Given a run blocked on its first page
    vai.add_events(10, start=T0 - timedelta(minutes=5), end=T0 - timedelta(minutes=1))
    config = poll_config(vai=vai, **_since(1))
    gate, arrived = threading.Event(), threading.Event()
    vai.on_request(lambda r: (arrived.set(), gate.wait(10)))
    results: dict[str, object] = {}
    first = threading.Thread(target=lambda: results.update(first=run("vai-pull", config, services, now=T0)))
    first.start()
    assert arrived.wait(10)
    # When a second run of the same connection starts meanwhile
    second = run("vai-pull", config, services, now=T0 + timedelta(seconds=1))
    gate.set()
    first.join(10)
    # Then the second was skipped without reading anything, and the first completed
    assert second.outcome is RunOutcome.SKIPPED and second.pages == 0
    assert results["first"].outcome is RunOutcome.COMPLETED  # type: ignore[attr-defined]
    assert len(vai.requests) == 1


def test_concurrent_runs_cannot_move_the_checkpoint_backwards(vai: VaiFake, services: PollServices, aws):
    # Given an older run (started at T0) stalled on its second page past its lease,
    vai.add_events(150, start=T0 - timedelta(minutes=30), end=T0 - timedelta(minutes=1))
    config = poll_config(vai=vai, **_since(1))
    gate, stalled = threading.Event(), threading.Event()

    def stall_first_run(request) -> None:
        if request.query.get("offset") == "100" and not stalled.is_set():
            stalled.set()
            gate.wait(10)

    vai.on_request(stall_first_run)
    results: dict[str, object] = {}
    older = threading.Thread(
        target=lambda: results.update(older=run("vai-pull", config, services, now=T0, lease_seconds=60))
    )
    older.start()
    assert stalled.wait(10)
    # ... and a newer run, ten minutes on, that takes the expired lease and completes
    later = T0 + timedelta(minutes=10)
    vai.add_events(20, start=T0, end=later - timedelta(seconds=1))
    ten_minutes_on = replace(services, clock=lambda: time.time() + 600)
    newer = run("vai-pull", config, ten_minutes_on, now=later)
    assert services.store.get_checkpoint("vai-pull") == format_timestamp(later)
    # When the older run resumes and finishes its window
    gate.set()
    older.join(10)
    # Then the checkpoint still stands at the newer run's start, and everything is stored
    assert newer.outcome is RunOutcome.COMPLETED
    assert results["older"].outcome is RunOutcome.COMPLETED  # type: ignore[attr-defined]
    assert results["older"].checkpoint is None  # type: ignore[attr-defined]
    assert services.store.get_checkpoint("vai-pull") == format_timestamp(later)
    assert set(stored_source_ids(aws, "vai")) == vai.ids
