"""The aggregator counts each event once, whatever the stream does to its batches: each counter
keeps, per shard, the position of the last record it added (its watermark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from eventhub.local.streams.delivery import deliver
from eventhub.local.streams.subscriptions import local_subscriptions
from functions.adapters import factory
from functions.adapters.counters import CounterStore
from functions.errors import StoreUnavailable
from functions.handlers import aggregator
from functions.logic.aggregating.counting import count_stream_batch
from functions.models.counting import Contribution, CounterKey
from tests.integration.query.conftest import SHARD, Hub, at, make_event


def _total(hub: Hub) -> int:
    status, body = hub.get("/api/v1/events/aggregate")
    assert status == 200
    return body["total"]


def _entries(records: list[dict[str, Any]]) -> list[Any]:
    return [aggregator.stream_entry(r) for r in records]


class RacedCounters(CounterStore):
    """Before each of its counter writes, another delivery of the same records (all of them, or
    only the first) writes that counter first: this delivery's write then finds a watermark."""

    def __init__(self, *args: Any, racer_takes: str, **kwargs: Any) -> None:
        super().__init__(*args, workers=1, **kwargs)
        self.racer = CounterStore(factory.event_store(), workers=1)
        self.racer_takes = racer_takes

    def _add_once(self, key: CounterKey, parts: Sequence[Contribution], watermark: str) -> None:
        taken = parts if self.racer_takes == "all" else parts[:1]
        self.racer._add_once(key, taken, watermark)
        super()._add_once(key, parts, watermark)


@pytest.mark.parametrize("racer_takes", ["all", "first"])
def test_racing_deliveries_of_the_same_records_count_once(hub: Hub, racer_takes: str) -> None:
    # Given 30 stored events of one correlation, their records not yet counted
    hub.put(*(make_event(occurred_at=at(n / 3)) for n in range(30)))
    records = hub.tap.records()
    # When a delivery is raced, counter by counter, by another that writes first (all of what it
    # holds for that counter, or only its first record's part)
    raced = RacedCounters(factory.event_store(), racer_takes=racer_takes)
    assert count_stream_batch(_entries(records), SHARD, raced) is None
    # Then the counts are those of a single delivery
    assert _total(hub) == 30
    status, body = hub.get("/api/v1/events/correlation/flow-1", {"limit": 1})
    assert body["total"] == 30


def test_other_records_are_not_counted(hub: Hub) -> None:
    # Given one event, its counter items, and an artifact update of the event
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


def test_a_failing_batch_is_retried_whole_and_counts_once(hub: Hub) -> None:
    # Given 150 events and counters whose 40th write fails
    hub.put(*(make_event(occurred_at=at(n), correlation_id=f"c{n}") for n in range(150)))
    records = hub.tap.records()

    class Flaky(CounterStore):
        writes = 0

        def _add_once(self, key: CounterKey, parts: Sequence[Contribution], watermark: str) -> None:
            Flaky.writes += 1
            if Flaky.writes == 40:
                raise StoreUnavailable("throttled")
            super()._add_once(key, parts, watermark)

    failed = count_stream_batch(_entries(records), SHARD, Flaky(factory.event_store(), workers=1))
    # Then the failure names the batch's first record, and some counters were written, not all
    assert failed == records[0]["dynamodb"]["SequenceNumber"]
    assert _total(hub) == 150  # the month's counter, among the first written
    status, body = hub.get("/api/v1/events/correlation/c149", {"limit": 1})
    assert body["total"] == 0  # correlations come after the 40th write
    # When Lambda retries the batch, then bisected for good measure
    hub.deliver(records)
    hub.deliver(records[:75])
    hub.deliver(records[75:])
    # Then every event counts exactly once, in the aggregate and in its correlation
    assert _total(hub) == 150
    status, body = hub.get("/api/v1/events/correlation/c149", {"limit": 1})
    assert body["total"] == 1


def test_a_retry_from_inside_a_batch_that_runs_past_its_end_counts_once(hub: Hub) -> None:
    # Given 100 events, the first 60 records counted as one batch
    hub.put(*(make_event(occurred_at=at(n / 10)) for n in range(100)))
    records = hub.tap.records()
    hub.deliver(records[:60])
    # When a later batch starts at record 30 and runs to the end
    hub.deliver(records[30:])
    # Then each event counts once
    assert _total(hub) == 100


def test_another_shards_records_are_not_mistaken_for_counted_ones(hub: Hub) -> None:
    # Given 20 events counted from one shard
    hub.put(*(make_event(occurred_at=at(n)) for n in range(20)))
    hub.deliver(hub.tap.records(), shard_id="shard-a")
    # When 20 more come from another shard whose sequence numbers are lower
    hub.put(*(make_event(occurred_at=at(n)) for n in range(20)))
    later = hub.tap.records()
    for n, record in enumerate(later):
        record["dynamodb"]["SequenceNumber"] = f"{n + 1:021d}"
    hub.deliver(later, shard_id="shard-b")
    # Then both shards' events count
    assert _total(hub) == 40


def test_a_batch_retried_whole_after_a_function_error_counts_once(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 64 events and an aggregator that crashes once after writing its counters
    hub.put(*(make_event(occurred_at=at(n * 2), correlation_id=f"c{n}") for n in range(64)))
    records = hub.tap.records()
    original = CounterStore.add_once
    crashes = {"left": 1}

    def crash_after_writing(self: CounterStore, shard_id: str, contributions: Mapping[Any, Any]) -> None:
        original(self, shard_id, contributions)
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("function crashed after its writes")

    monkeypatch.setattr(CounterStore, "add_once", crash_after_writing)
    # When the local event source delivers the batch as the stack's mapping does (no bisecting:
    # the batch is retried whole, its records in order)
    subscription = next(s for s in local_subscriptions() if s.name == "aggregator")
    assert subscription.bisect_on_error is False
    report = deliver(
        records,
        subscription,
        lambda _handler, event: aggregator.handler(event, hub.context),
        lambda records, invokes: pytest.fail("records given up"),
        {"shardId": SHARD},
    )
    # Then the batch was retried whole once, and each event counted once
    assert [(i.outcome, len(i.sequences)) for i in report.invocations] == [("error", 64), ("ok", 64)]
    assert _total(hub) == 64


def test_events_marked_by_a_rebuild_are_not_added_again(hub: Hub) -> None:
    # Given 10 events whose counters a rebuild wrote, marking them (their records still to come)
    from functions.logic.aggregating.rebuild import rebuild_counters

    hub.put(*(make_event(occurred_at=at(n)) for n in range(10)))
    store = hub.counters()
    rebuild_counters(store.iter_counted_events(), store, mark_received_after="")
    assert _total(hub) == 10
    # When their records arrive, with two new events'
    hub.put(*(make_event(occurred_at=at(n)) for n in range(2)))
    hub.aggregate()
    # Then only the new ones are added
    assert _total(hub) == 12


def test_a_counters_watermarks_of_old_shards_are_dropped(hub: Hub) -> None:
    # Given a counter written from a shard three days ago
    hub.put(make_event(occurred_at=at(0)))
    old = CounterStore(factory.event_store(), clock=lambda: 1_700_000_000.0)
    count_stream_batch(_entries(hub.tap.records()), "shard-old", old)
    # When a record of another shard is counted into it now
    hub.put(make_event(occurred_at=at(0)))
    now = CounterStore(factory.event_store(), clock=lambda: 1_700_000_000.0 + 3 * 86_400)
    count_stream_batch(_entries(hub.tap.records()), "shard-new", now)
    # Then the month's counter keeps only the new shard's watermark, and both counts
    items = hub.aws["dynamodb"].scan(TableName=hub.aws["table"])["Items"]
    (month,) = [i for i in items if i.get("scope", {}).get("S") == "M"]
    assert [name for name in month if name.startswith("w:")] == [_watermark("shard-new")]
    assert month["n"]["N"] == "2"


def _watermark(shard_id: str) -> str:
    from functions.adapters.counter_items import watermark_attribute

    return watermark_attribute(shard_id)
