"""Klavi's pull queue: drained one event at a time, each stored before the next pull."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from eventhub.demo import KlaviFake
from functions.adapters.event_store import EventStore
from functions.errors import ProviderAuthFailed, StoreUnavailable
from functions.logic.polling import (
    EventSpilled,
    MalformedPage,
    PollServices,
    RunBudget,
    RunOutcome,
    restore_spilled,
)
from functions.models.event import event_id_for
from tests.integration.polling.conftest import TENANT, poll_config, run, stored_source_ids


class FailingAfter:
    """The event store, failing every put once ``ok`` puts have succeeded (a store outage)."""

    def __init__(self, store: EventStore, ok: int) -> None:
        self._store, self.ok, self.calls = store, ok, 0

    def put(self, new: Any) -> Any:
        self.calls += 1
        if self.calls > self.ok:
            raise StoreUnavailable("event store unavailable (ProvisionedThroughputExceededException)")
        return self._store.put(new)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_queue_of_n_events_drains_to_exactly_n_stored(klavi: KlaviFake, services: PollServices, aws):
    # Given a Klavi queue of 25 events
    served = klavi.enqueue(25)
    # When one run drains it
    summary = run("klavi-pull", poll_config(klavi=klavi), services)
    # Then exactly those 25 are stored, once each, and the queue said "no new event" at the end
    assert summary.outcome is RunOutcome.COMPLETED
    assert (summary.seen, summary.new, summary.duplicates, summary.pages) == (25, 25, 0, 26)
    assert sorted(stored_source_ids(aws, "klavi")) == sorted(e["eventId"] for e in served)
    assert not klavi.queue


def test_the_presigned_url_becomes_a_pending_artifact_without_its_credentials(
    klavi: KlaviFake, services: PollServices
):
    # Given one pulled event with a presigned result URL
    (event,) = klavi.enqueue(1)
    # When it is pulled and stored
    run("klavi-pull", poll_config(klavi=klavi), services)
    # Then the stored event has a pending artifact whose URL has no query string
    stored = services.store.get(event_id_for(TENANT, "klavi", event["eventId"]))
    assert stored is not None and stored.channel == "poll"
    assert [a.status for a in stored.artifacts] == ["pending"]
    assert stored.artifacts[0].source_url == event["payload"]["presignedUrl"].split("?")[0]
    assert "X-Amz-Signature" not in json.dumps(stored.model_dump(mode="json"))


def test_a_store_failing_mid_drain_loses_nothing_the_event_is_spilled_then_restored(
    klavi: KlaviFake, services: PollServices, aws
):
    # Given 10 queued events and a store that fails for good after the 4th write
    served = klavi.enqueue(10)
    config = poll_config(klavi=klavi)
    flaky = replace(services, store=FailingAfter(services.store, ok=4))
    # When a run drains the queue
    with pytest.raises(EventSpilled):
        run("klavi-pull", config, flaky)
    # Then it stopped right after the 5th pull: 4 stored, the 5th in the spill queue (after the
    # store's retries), 5 still queued at Klavi
    assert len(stored_source_ids(aws, "klavi")) == 4
    assert len(klavi.served) == 5 and len(klavi.queue) == 5
    assert flaky.store.calls == 4 + services.store_attempts
    # When the spill is replayed and the next run drains the rest
    report = restore_spilled(services.spill, services.store, config, wait_seconds=0)
    run("klavi-pull", config, services)
    # Then every served event is stored exactly once and the spill queue is empty
    assert report.restored == 1
    assert sorted(stored_source_ids(aws, "klavi")) == sorted(e["eventId"] for e in served)
    assert services.spill.receive(wait_seconds=0) == []


def test_replaying_a_spilled_event_twice_stores_it_once(klavi: KlaviFake, services: PollServices, aws):
    # Given an event spilled by a failed store, and the same body spilled again
    klavi.enqueue(1)
    config = poll_config(klavi=klavi)
    flaky = replace(services, store=FailingAfter(services.store, ok=0))
    with pytest.raises(EventSpilled):
        run("klavi-pull", config, flaky)
    first = restore_spilled(services.spill, services.store, config, wait_seconds=0)
    services.spill.spill(
        connection_id="klavi-pull", provider="klavi", reason="test", received_at="2025-01-01T00:00:00Z",
        body=json.dumps(klavi.served[0]).encode(),
    )  # fmt: skip
    # When it is replayed again
    second = restore_spilled(services.spill, services.store, config, wait_seconds=0)
    # Then it was stored once and counted as a duplicate the second time
    assert (first.restored, second.restored, second.duplicates) == (1, 0, 1)
    assert len(stored_source_ids(aws, "klavi")) == 1


def test_an_unreadable_pulled_event_is_spilled_and_the_drain_goes_on(
    klavi: KlaviFake, services: PollServices, aws
):
    # Given three events, the second of which Klavi serves as broken JSON
    served = klavi.enqueue(3)
    config = poll_config(klavi=klavi)
    klavi.on_request(lambda r: klavi.malformed_next("bad_json") if r.number == 2 else None)
    # When a run drains the queue
    with pytest.raises(MalformedPage):
        run("klavi-pull", config, services)
    # Then the two readable events are stored and the broken body waits in the spill queue
    assert sorted(stored_source_ids(aws, "klavi")) == sorted([served[0]["eventId"], served[2]["eventId"]])
    (spilled,) = services.spill.receive(wait_seconds=0)
    assert spilled.connection_id == "klavi-pull" and served[1]["eventId"].encode() in spilled.body


def test_a_rejected_secret_key_stops_the_run_without_retrying(klavi: KlaviFake, services: PollServices, aws):
    # Given a Klavi that refuses our secretKey
    klavi.enqueue(3)
    klavi.reject_credentials = True
    # When a run starts
    with pytest.raises(ProviderAuthFailed) as failure:
        run("klavi-pull", poll_config(klavi=klavi), services)
    # Then it stopped at the first answer, stored nothing, and says why
    assert failure.value.status == 401
    assert len(klavi.requests) == 1
    assert stored_source_ids(aws, "klavi") == []


def test_the_drain_stops_when_the_remaining_time_drops_under_the_margin(
    klavi: KlaviFake, services: PollServices, aws
):
    # Given 10 queued events and a Lambda whose remaining time falls 10 s per look at the clock
    klavi.enqueue(10)
    remaining = iter(range(100_000, 0, -10_000))
    budget = RunBudget(lambda: next(remaining), safety_margin_ms=30_000)
    # When a run drains
    summary = run("klavi-pull", poll_config(klavi=klavi), services, budget=budget, lease_seconds=60)
    # Then it stopped pulling before the margin, with what it pulled stored
    assert summary.outcome is RunOutcome.PARTIAL
    assert 0 < summary.new < 10
    assert len(stored_source_ids(aws, "klavi")) == len(klavi.served) == summary.new
