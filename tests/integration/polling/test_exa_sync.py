"""Exa's events list: the same incremental sync, cursor paging, and the webhook path's ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventhub.demo import ExaFake
from eventhub.local.signing import sign
from functions.adapters.secrets import SecretResolver
from functions.logic.intake import receive_webhook
from functions.logic.polling import MalformedPage, PollServices, RunOutcome
from functions.models.event import format_timestamp
from tests.integration.polling.conftest import poll_config, run, stored_source_ids

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SINCE = {"since": format_timestamp(T0 - timedelta(hours=1))}


def test_an_exa_sync_pages_by_cursor_and_stores_the_full_set(exa: ExaFake, services: PollServices, aws):
    # Given 230 Exa events over the last 40 minutes (three pages of 100)
    exa.add_events(230, start=T0 - timedelta(minutes=40), end=T0 - timedelta(seconds=1))
    # When the first sync runs
    summary = run("exa-pull", poll_config(exa=exa, **SINCE), services, now=T0)
    # Then the stored set is the fake's, read in three pages with createdAfter/createdBefore set
    assert summary.outcome is RunOutcome.COMPLETED
    assert (summary.new, summary.pages) == (230, 3)
    assert set(stored_source_ids(aws, "exa")) == exa.ids
    first = exa.pages_served("/v0/events")[0].query
    assert first["createdAfter"] == SINCE["since"] and first["createdBefore"] == format_timestamp(T0)
    assert services.store.get_checkpoint("exa-pull") == format_timestamp(T0)


def test_an_event_that_came_by_webhook_and_by_poll_is_stored_once(exa: ExaFake, services: PollServices, aws):
    # Given an Exa event delivered by webhook and stored
    (event,) = exa.add_events(1, start=T0 - timedelta(minutes=2), end=T0 - timedelta(minutes=2))
    config = poll_config(exa=exa, **SINCE)
    import json

    body = json.dumps(event).encode()
    delivered = receive_webhook(
        "exa-pull", sign("exa", "exa-webhook-secret-1", body), body, datetime.now(UTC),
        config=config, secrets=SecretResolver(), store=services.store,
    )  # fmt: skip
    # When the reconciliation sync reads it again
    summary = run("exa-pull", config, services, now=T0)
    # Then it is a duplicate: one stored event, under the webhook path's id
    assert not delivered.duplicate
    assert (summary.seen, summary.new, summary.duplicates) == (1, 0, 1)
    assert stored_source_ids(aws, "exa") == [event["id"]]
    assert services.store.get(delivered.id) is not None


def test_events_inserted_during_an_exa_sync_are_stored_by_the_next_run(
    exa: ExaFake, services: PollServices, aws
):
    # Given 250 events and a provider gaining events while the sync pages
    exa.add_events(250, start=T0 - timedelta(minutes=30), end=T0 - timedelta(minutes=1))

    def insert_during_sync(request) -> None:
        if request.query.get("cursor"):
            exa.insert(exa.make_event(T0 + timedelta(seconds=5)))
            exa.insert(exa.make_event(T0 - timedelta(seconds=20)))

    exa.on_request(insert_during_sync)
    config = poll_config(exa=exa, **SINCE)
    # When one run syncs and the next one follows
    run("exa-pull", config, services, now=T0)
    exa.clear_hooks()
    run("exa-pull", config, services, now=T0 + timedelta(minutes=1))
    # Then every event the provider has is stored, once
    stored = stored_source_ids(aws, "exa")
    assert set(stored) == exa.ids and len(stored) == len(set(stored)) == 254


@pytest.mark.parametrize("kind", ["bad_json", "missing_field", "missing_cursor"])
def test_a_malformed_exa_page_fails_without_storing_it_or_moving_the_checkpoint(
    exa: ExaFake, services: PollServices, aws, kind
):
    # Given events and a first page that breaks the list's contract
    exa.add_events(20, start=T0 - timedelta(minutes=5), end=T0 - timedelta(minutes=1))
    exa.malformed_next(kind)
    # When a run syncs
    with pytest.raises(MalformedPage):
        run("exa-pull", poll_config(exa=exa, **SINCE), services, now=T0)
    # Then nothing is stored and there is no checkpoint
    assert stored_source_ids(aws, "exa") == []
    assert services.store.get_checkpoint("exa-pull") is None
