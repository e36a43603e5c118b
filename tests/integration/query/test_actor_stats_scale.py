"""/stats/by-actor stays exact past what one item holds: 10,000 distinct actors in one month.

Each actor's counts in a time bucket are an item of their own, read back by a range read of the
bucket (the ``byActorBucket`` index), so the number of actors a tenant has in a month is bounded
by nothing; the month's own counter item does not grow with them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from functions import table_schema as schema
from functions.adapters.counter_items import actor_bucket_value, counted_from_item, counter_id
from functions.adapters.counters import CounterStore
from functions.logic.aggregating.rebuild import rebuild_counters
from functions.models.counting import Counted, CounterKey, Delta, Level, bucket_name
from functions.models.event import CanonicalEvent, format_timestamp
from functions.models.items import to_item
from tests.integration.query.conftest import Hub, make_event
from tests.integration.query.test_aggregates_reference import brute_force

MONTH = datetime(2025, 3, 1, tzinfo=UTC)
WHOLE_MONTH = (MONTH, datetime(2025, 3, 31, 23, 59, 59, 999000, tzinfo=UTC))


def _events(count: int, *, first: int = 0, spread_minutes: float = 4.4) -> list[CanonicalEvent]:
    """Events of one tenant in March 2025, each of its own actor, a tenth of them failures."""
    return [
        make_event(
            occurred_at=MONTH + timedelta(minutes=n * spread_minutes, seconds=n % 60),
            actor_type="user" if n % 7 else "system",
            actor_id=f"actor-{n:05d}",
            event_type="workflow_run.failed" if n % 10 == 0 else "classify_run.processed",
            correlation_id=None,
            resource_id=None,
        )
        for n in range(first, first + count)
    ]


def _store(hub: Hub, events: list[CanonicalEvent]) -> list[dict]:
    items = [to_item(event, payload_text=json.dumps(event.payload), payload_ref=None) for event in events]
    ddb, table = hub.aws["dynamodb"], hub.aws["table"]
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in chunk]})
    return items


def _counted(events: list[CanonicalEvent]) -> Iterator[Counted]:
    for event in events:
        counted = counted_from_item(to_item(event, payload_text="{}", payload_ref=None))
        assert counted is not None
        yield counted


def _check_stats(hub: Hub, events: list[CanonicalEvent], *ranges: tuple[datetime, datetime]) -> int:
    """/stats/by-actor of each range equals the brute-force count; the most actors listed."""
    most = 0
    for start, end in ranges:
        params = {"from": format_timestamp(start), "to": format_timestamp(end)}
        _, expected = brute_force(events, start, end)
        status, body = hub.get("/api/v1/events/stats/by-actor", params)
        assert status == 200
        assert len(body["actors"]) == len(expected["actors"])
        assert body == expected
        most = max(most, len(body["actors"]))
    return most


def _bucket_item_sizes(hub: Hub, *buckets: CounterKey) -> list[int]:
    """The stored size (as JSON) of each time bucket's own counter item: where every actor's counts
    were kept before they had items of their own."""
    ddb, table = hub.aws["dynamodb"], hub.aws["table"]
    items = [ddb.get_item(TableName=table, Key={"id": {"S": counter_id(key)}})["Item"] for key in buckets]
    return [len(json.dumps(item)) for item in items]


def test_the_aggregator_counts_each_actor_of_a_batch_in_items_of_its_own(hub: Hub) -> None:
    # Given 300 events in two hours of March, each of its own actor
    events = _events(300, spread_minutes=0.4)
    items = _store(hub, events)
    # When the aggregator counts their stream records, in batches of 100
    hub.deliver([hub.tap.record(item) for item in items])
    # Then /stats/by-actor lists every actor with its exact counts, over the month and inside it
    inner = (MONTH + timedelta(minutes=17, seconds=31), MONTH + timedelta(hours=1, minutes=43))
    assert _check_stats(hub, events, WHOLE_MONTH, inner) == 300
    # And the time buckets' own counter items did not grow with the number of actors
    assert max(_bucket_item_sizes(hub, *_month_and_first_day())) < 2_000


def _month_and_first_day() -> tuple[CounterKey, CounterKey]:
    return CounterKey("acme", Level.MONTH.value, "2025-03"), CounterKey("acme", Level.DAY.value, "2025-03-01")


class _Written:
    """The rebuild's target, writing the counter items it computes (the table has no others)."""

    def __init__(self, store: CounterStore) -> None:
        self.store = store

    def replace_all(self, values: Mapping[CounterKey, Delta], tenant_id: str | None) -> int:
        return self.store.put_all(values)

    def mark_counted(self, event_ids: Iterable[str]) -> None:
        self.store.mark_counted(event_ids)


def test_ten_thousand_actors_in_one_month_are_counted_exactly(hub: Hub) -> None:
    # Given 10,000 events of one tenant in one month, each of its own actor, counted into their
    # counter items (the rebuild's counting, written in batches: moto takes minutes to apply the
    # aggregator's 40,000 single writes), then 100 more events of new and known actors counted by
    # the aggregator from their stream records
    events = _events(10_000)
    _store(hub, events)
    rebuild_counters(((event, None) for event in _counted(events)), _Written(hub.counters()))
    later = _events(50, first=10_000) + _events(50, first=5_000)
    hub.deliver([hub.tap.record(item) for item in _store(hub, later)])
    # Then /stats/by-actor over the month and over two whole days inside it lists every actor
    # exactly (ranges cut at hours and minutes: the test above)
    days = (MONTH + timedelta(days=3), MONTH + timedelta(days=5) - timedelta(milliseconds=1))
    assert _check_stats(hub, events + later, WHOLE_MONTH, days) == 10_050
    # And the month's own counter item did not grow with the number of actors: far below 400 KB
    assert max(_bucket_item_sizes(hub, *_month_and_first_day())) < 2_000


def test_a_bucket_whose_actors_cannot_be_read_fails_the_whole_answer(hub: Hub) -> None:
    # Given 300 events in two hours of March counted, and DynamoDB throttling the range read of
    # one of the hour buckets a range over them reads (the buckets' reads run side by side)
    events = _events(300, spread_minutes=0.4)
    hub.deliver([hub.tap.record(item) for item in _store(hub, events)])
    throttled = actor_bucket_value("acme", Level.HOUR, bucket_name(Level.HOUR, MONTH + timedelta(hours=1)))

    def throttle(params: dict, **_: object) -> None:
        bucket = params.get("ExpressionAttributeValues", {}).get(":bucket", {}).get("S")
        if params.get("IndexName") == schema.ACTOR_INDEX.name and bucket == throttled:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "Query"
            )

    ddb = hub.store.ddb
    ddb.meta.events.register("before-parameter-build.dynamodb.Query", throttle)
    try:
        # When /stats/by-actor is asked for the two hours
        params = {"from": format_timestamp(MONTH), "to": format_timestamp(MONTH + timedelta(hours=2))}
        status, body = hub.get("/api/v1/events/stats/by-actor", params)
    finally:
        ddb.meta.events.unregister("before-parameter-build.dynamodb.Query", throttle)
    # Then it answers 503, with no partial list of actors
    assert status == 503
    assert "actors" not in body
    # And, the throttling over, the same request lists the range's actors exactly
    assert _check_stats(hub, events, (MONTH, MONTH + timedelta(hours=2))) > 200
