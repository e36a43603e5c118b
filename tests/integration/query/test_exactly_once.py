"""The aggregator counts each event once, whatever the stream does to its batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from eventhub.local.streams.delivery import deliver
from eventhub.local.streams.subscriptions import Subscription
from functions.adapters import factory
from functions.adapters.counters import CounterStore
from functions.errors import StoreUnavailable
from functions.handlers import aggregator
from functions.models.counting import Counted, CounterKey, Delta
from tests.integration.query.conftest import Hub, at, make_event


def _total(hub: Hub) -> int:
    status, body = hub.get("/api/v1/events/aggregate")
    assert status == 200
    return body["total"]


class RacingCounters(CounterStore):
    """A delivery that does not see the markers in its pre-check (two deliveries racing)."""

    def already_counted(self, event_ids: Sequence[str]) -> set[str]:
        return set()


def test_racing_deliveries_are_settled_by_the_transaction_conditions(hub: Hub) -> None:
    # Given 30 events whose records are delivered once
    hub.put(*(make_event(occurred_at=at(n / 3)) for n in range(30)))
    records = hub.aggregate()
    # When two more deliveries of overlapping parts skip the pre-check
    entries = [aggregator.stream_entry(r) for r in records]
    racing = RacingCounters(factory.event_store())
    from functions.logic.aggregating.counting import count_stream_batch

    assert count_stream_batch(entries[5:20], racing) is None
    assert count_stream_batch(entries, racing) is None
    # Then the counts are those of a single delivery
    assert _total(hub) == 30
    status, body = hub.get("/api/v1/events/correlation/flow-1", {"limit": 1})
    assert body["total"] == 30


def test_other_records_are_not_counted(hub: Hub) -> None:
    # Given one event, its counter and marker items, and an artifact update of the event
    event = make_event(occurred_at=at(1))
    hub.put(event)
    records = hub.aggregate()
    image = records[0]["dynamodb"]["NewImage"]
    counter_items = hub.aws["dynamodb"].scan(TableName=hub.aws["table"])["Items"]
    noise = [hub.tap.record(item) for item in counter_items if item["id"]["S"] != event.id]
    noise.append(hub.tap.record(image, "MODIFY"))
    noise.append(hub.tap.record({**image, "id": {"S": "checkpoint#x"}, "kind": {"S": "checkpoint"}}))
    # When the stream delivers all of those
    assert len(noise) > 3
    hub.deliver(noise)
    # Then only the event counted, once
    assert _total(hub) == 1


def test_a_failing_batch_reports_its_first_uncounted_record_and_the_retry_completes(hub: Hub) -> None:
    # Given 150 events and counters that fail their second transaction
    hub.put(*(make_event(occurred_at=at(n), correlation_id=f"c{n}") for n in range(150)))
    records = hub.tap.records()

    class Flaky(CounterStore):
        calls = 0

        def apply(self, events: Sequence[Counted], updates: Any) -> set[str]:
            Flaky.calls += 1
            if Flaky.calls == 2:
                raise StoreUnavailable("throttled")
            return super().apply(events, updates)

    entries = [aggregator.stream_entry(r) for r in records]
    from functions.logic.aggregating.counting import count_stream_batch

    failed = count_stream_batch(entries, Flaky(factory.event_store()))
    # Then the failure names a record of the batch, some events are counted, not all
    sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert failed in sequences
    assert 0 < _total(hub) < 150
    # When Lambda retries from that record (and the whole batch once more for good measure)
    hub.deliver(records[sequences.index(failed) :])
    hub.deliver(records)
    # Then every event counts exactly once
    assert _total(hub) == 150


def test_a_batch_bisected_after_a_function_error_counts_once(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 64 events and an aggregator that crashes after counting the first transaction
    hub.put(*(make_event(occurred_at=at(n * 2), correlation_id=f"c{n}") for n in range(64)))
    records = hub.tap.records()
    original = CounterStore.apply
    crashes = {"left": 1}

    def crash_after_commit(self: CounterStore, events: Sequence[Counted], updates: dict[CounterKey, Delta]):
        result = original(self, events, updates)
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("function crashed after its write")
        return result

    monkeypatch.setattr(CounterStore, "apply", crash_after_commit)
    # When the local event source delivers the batch with Lambda's bisect-on-error
    report = deliver(
        records,
        Subscription(name="aggregator", handler="aggregator", batch_size=100, bisect_on_error=True),
        lambda _handler, event: aggregator.handler(event, hub.context),
        lambda records, invokes: pytest.fail("records given up"),
    )
    # Then the batch was split and retried, and each event counted once
    assert [i.outcome for i in report.invocations][0] == "error"
    assert len(report.invocations) >= 3
    assert _total(hub) == 64
