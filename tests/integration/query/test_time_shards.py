"""The time index's shards: a tenant's day written over ``TIME_SHARDS`` partitions, read as one.

Lists over the shards page newest first exactly as one partition did, cursors resume exactly,
reads per page stay within what ``functions/adapters/shard_merge.py`` documents, and entries in
the key of before the shards (``{tenant}#{day}``) are read with shard 0.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions import table_schema as schema
from functions.logic.query.cursor import encode_cursor, query_fingerprint
from functions.logic.query.requests import ListFilters
from functions.models.event import CanonicalEvent, NewEvent
from functions.models.items import day_partition, day_partitions, sort_value, time_shard, to_item
from tests.integration.query.conftest import Hub, make_event

EVENTS = "/api/v1/events"
DAY = datetime(2025, 2, 26, tzinfo=UTC)


def day_events(
    count: int, *, start: datetime = DAY, step: timedelta = timedelta(seconds=20), name: str = "shard-test"
) -> list[CanonicalEvent]:
    """``count`` events of acme from ``start``, three to each moment (ties on occurredAt), a third
    of them Klavi's; ids fixed by the provider ids, so the shards they land in are too."""
    return [
        make_event(
            occurred_at=start + step * (n // 3),
            source="klavi" if n % 3 == 0 else "vai",
            source_event_id=f"{name}-{n}",
        )
        for n in range(count)
    ]


def newest_first(events: list[CanonicalEvent]) -> list[str]:
    return [e.id for e in sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)]


def time_index_items(hub: Hub) -> list[dict[str, Any]]:
    """Every event item's id, sort value and time-index key, as stored (a Scan: the test's, not a route's)."""
    ddb, found, params = hub.aws["dynamodb"], [], {"TableName": hub.aws["table"]}
    while True:
        page = ddb.scan(**params)
        found += [i for i in page["Items"] if i.get(schema.KIND_ATTRIBUTE, {}).get("S") == "event"]
        if "LastEvaluatedKey" not in page:
            return found
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def walk(hub: Hub, params: dict[str, Any], *, by_cursor: bool = True) -> list[dict[str, Any]]:
    bodies, cursor, offset = [], None, 0
    for _ in range(500):
        query = {**params, "cursor": cursor} if by_cursor else {**params, "offset": offset}
        status, body = hub.get(EVENTS, query)
        assert status == 200, body
        bodies.append(body)
        if not body["hasNext"]:
            assert body["nextCursor"] is None
            return bodies
        cursor, offset = body["nextCursor"], offset + len(body["events"])
    raise AssertionError("paging did not end")


def test_a_tenants_day_is_written_over_every_shard_each_event_to_the_shard_of_its_id(hub: Hub) -> None:
    # Given 400 events of one tenant on one day
    events = day_events(400)
    hub.put(*events)
    # When the stored items are read back
    items = time_index_items(hub)
    keys = Counter(item[schema.TIME_INDEX.partition_key]["S"] for item in items)
    # Then they are spread over all 8 shards of the day: 400 / 8 = 50 each, give or take chance
    assert set(keys) == set(day_partitions("acme", "2025-02-26"))
    assert len(keys) == schema.TIME_SHARDS == 8
    assert all(30 <= n <= 70 for n in keys.values()), keys
    # And each is in the shard its id picks; shard 0 has the key of before, the others "#n"
    for item in items:
        shard = time_shard(item["id"]["S"])
        assert item[schema.TIME_INDEX.partition_key]["S"] == day_partition("acme", "2025-02-26", shard)
    assert day_partition("acme", "2025-02-26", 0) == "acme#2025-02-26"
    assert day_partition("acme", "2025-02-26", 7) == "acme#2025-02-26#7"
    # And writing the same event again (a redelivery, a re-put of its item) keeps its shard
    again = make_event(occurred_at=events[5].occurred_at, source="vai", source_event_id="shard-test-5")
    assert again.id == events[5].id
    assert hub.store.put(NewEvent(event=again)).duplicate
    first = to_item(events[5], payload_text="{}", payload_ref=None)[schema.TIME_INDEX.partition_key]
    second = to_item(again, payload_text="{}", payload_ref=None)[schema.TIME_INDEX.partition_key]
    assert first == second


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"limit": 7}, lambda e: True),
        ({"limit": 100}, lambda e: True),
        ({"limit": 5, "source": "klavi"}, lambda e: e.source == "klavi"),
    ],
    ids=["all-by-7", "all-by-100", "klavi-by-5"],
)
def test_a_list_over_the_shards_pages_newest_first_without_a_gap_or_a_repeat(
    hub: Hub, params: dict[str, Any], keep: Any
) -> None:
    # Given 300 events over eight shards and two days (ties on occurredAt in every shard)
    events = day_events(300, start=DAY - timedelta(hours=4), step=timedelta(minutes=3))
    assert len({e.occurred_at[:10] for e in events}) == 2
    hub.put(*events)
    hub.aggregate()
    expected = newest_first([e for e in events if keep(e)])
    for by_cursor in (True, False):
        # When the list is read page by page, by cursor and by offset
        bodies = walk(hub, params, by_cursor=by_cursor)
        seen = [e["id"] for body in bodies for e in body["events"]]
        # Then the pages together are every event once, in the order of one sort of them all
        assert seen == expected, "cursor" if by_cursor else "offset"
        # And every page is full but the last, with the exact total
        assert all(len(b["events"]) == params["limit"] for b in bodies[:-1])
        assert {b["total"] for b in bodies} == {len(expected)}


def test_a_cursor_resumes_exactly_after_the_last_event_it_showed(hub: Hub) -> None:
    # Given 200 events of one day over eight shards, and the cursor of the list's third page
    events = day_events(200)
    hub.put(*events)
    hub.aggregate()
    expected = newest_first(events)
    cursor = None
    for _ in range(3):
        status, body = hub.get(EVENTS, {"limit": 9, "cursor": cursor})
        assert status == 200
        cursor = body["nextCursor"]
    assert [e["id"] for e in body["events"]] == expected[18:27]
    # When the next page is asked for with it, twice
    pages = [hub.get(EVENTS, {"limit": 9, "cursor": cursor})[1] for _ in range(2)]
    # Then both are the 9 events right after the third page's last, the same both times
    assert [e["id"] for e in pages[0]["events"]] == expected[27:36]
    assert pages[0] == pages[1]
    # And a cursor at any event resumes right after it (the position is every shard's position)
    fingerprint = query_fingerprint("events", ListFilters())
    for n in (0, 40, 41, 42, 150, 198):
        event = next(e for e in events if e.id == expected[n])
        at = encode_cursor(sort_value(event.id, event.occurred_at), fingerprint)
        status, body = hub.get(EVENTS, {"limit": 3, "cursor": at})
        assert status == 200
        assert [e["id"] for e in body["events"]] == expected[n + 1 : n + 4]


def _tampered(cursor: str) -> list[str]:
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))

    def encoded(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return [
        cursor[:-3],  # cut short
        cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:],  # a character changed
        encoded({**data, "f": "0" * 16}),  # another query's fingerprint
        encoded({"p": data["p"]}),  # no fingerprint
        encoded({"p": data["p"], "f": data["f"]}),  # no check (as cursors were before it)
        encoded({**data, "p": data["p"].replace("2025", "2024", 1)}),  # another position
        encoded({**data, "p": "no-separator"}),  # not a sort value
        encoded({**data, "p": data["p"] + "\x00"}),  # below every character
        encoded({**data, "p": ["a#b"]}),  # not a string
        encoded({**data, "p": "x" * 400 + "#id"}),  # longer than any sort value
        "not a cursor at all",
    ]


def test_a_tampered_cursor_is_a_422(hub: Hub) -> None:
    # Given a real cursor over the shards
    hub.put(*day_events(40))
    hub.aggregate()
    status, body = hub.get(EVENTS, {"limit": 5})
    cursor = body["nextCursor"]
    assert status == 200 and cursor
    for bad in _tampered(cursor):
        # When a tampered copy of it is sent
        status, body = hub.get(EVENTS, {"limit": 5, "cursor": bad})
        # Then it is refused as a cursor this API did not issue
        assert status == 422, (bad, body)
        assert body["detail"][0]["loc"] == ["query", "cursor"], bad


def test_every_page_reads_fewer_index_entries_than_the_merge_bound(hub: Hub) -> None:
    # Given 400 events of one day over eight shards
    events = day_events(400)
    hub.put(*events)
    hub.aggregate()
    # When the list is followed by cursor, 25 at a time (26 entries wanted: the page and hasNext)
    reads, requests, cursor = [], [], None
    while True:
        hub.store.meter.reset()
        status, body = hub.get(EVENTS, {"limit": 25, "cursor": cursor})
        assert status == 200
        reads.append(hub.store.meter.by_operation.get("Query:byTime", 0))
        requests.append(hub.store.meter.calls.count("Query:byTime"))
        cursor = body["nextCursor"]
        if cursor is None:
            break
    # Then every page but the last read at least its 26 entries and fewer than 26 + 8 x ceil(26 / 8)
    assert len(reads) == 16
    assert all(26 <= n < 26 + 8 * 4 for n in reads[:-1]), reads
    # (the last page: its 25 entries, and each shard's last request finds the end)
    assert reads[-1] == 25
    # And the Query requests: one per shard of the day (and, on the first page only, one per
    # shard of today, which has none), plus a request each time a shard's entries ran out while
    # more were wanted (for its share of what was still wanted)
    assert 16 <= requests[0] <= 16 + 8, requests
    assert all(8 <= n <= 8 + 8 for n in requests[1:]), requests
    print(f"\nentries read per page of 25: {reads}\nQuery requests per page: {requests}")


def test_entries_written_before_the_shards_are_read_with_shard_0(hub: Hub) -> None:
    # Given events stored the old way, every one with the day's unsharded key "{tenant}#{day}",
    # among events stored now, over the shards
    old = [e for e in day_events(60) if time_shard(e.id) != 0][:20]
    new = day_events(60, start=DAY + timedelta(seconds=5), name="new")
    for event in old:
        item = to_item(event, payload_text="{}", payload_ref=None)
        item[schema.TIME_INDEX.partition_key] = {"S": f"{event.tenant_id}#{event.occurred_at[:10]}"}
        hub.aws["dynamodb"].put_item(TableName=hub.aws["table"], Item=item)
        hub.tap.inserted(event.id)
    hub.put(*new)
    hub.aggregate()
    # When the day is listed
    bodies = walk(hub, {"limit": 8})
    # Then the old events are in their places among the new ones, none missing
    assert [e["id"] for body in bodies for e in body["events"]] == newest_first(old + new)
    assert bodies[0]["total"] == 80
