"""Lists agree with a brute-force reference: random events, random filters, every page.

All pages concatenated (by offset, and by cursor) equal the reference list, newest first, and
every page's ``total`` is the reference's length.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.models.event import CanonicalEvent, format_timestamp, parse_timestamp
from tests.integration.query.conftest import Hub, make_event, tenant_key

START = datetime(2025, 2, 25, 22, 0, tzinfo=UTC)
EVENT_TYPES = ["classify_run.processed", "workflow_run.failed", "webset.created"]
RESOURCE_TYPES = ["classify_run", "workflow_run", "webset", None]
RESOURCE_IDS = ["r1", "r2", "r3", None]
CORRELATIONS = ["flow-a", "flow-b", None]
SOURCES = ["vai", "klavi", "exa"]

# occurredAt: three days, with ties (whole minutes) and sub-minute, sub-second spread
moments = st.builds(
    lambda minutes, micro: START + timedelta(minutes=minutes, microseconds=micro),
    st.integers(min_value=0, max_value=3 * 24 * 60),
    st.sampled_from([0, 0, 1, 500_000, 59_999_999]),
)

event_specs = st.fixed_dictionaries(
    {
        "occurred_at": moments,
        "event_type": st.sampled_from(EVENT_TYPES),
        "resource_type": st.sampled_from(RESOURCE_TYPES),
        "resource_id": st.sampled_from(RESOURCE_IDS),
        "correlation_id": st.sampled_from(CORRELATIONS),
        "actor_type": st.sampled_from(["user", "system", None]),
        "actor_id": st.sampled_from(["u1", "u2", None]),
        "source": st.sampled_from(SOURCES),
    }
)

filters = st.fixed_dictionaries(
    {
        "event_type": st.sampled_from([None, None, *EVENT_TYPES]),
        "resource_type": st.sampled_from([None, None, "classify_run", "webset"]),
        "resource_id": st.sampled_from([None, None, "r1", "r2"]),
        "from": st.one_of(st.none(), moments),
        "to": st.one_of(st.none(), moments),
        "source": st.sampled_from([None, None, None, "klavi", "exa"]),  # with from/to only
    }
)


def newest_first(events: list[CanonicalEvent]) -> list[str]:
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)
    return [e.id for e in ordered]


def reference(events: list[CanonicalEvent], wanted: dict[str, Any]) -> list[str]:
    def keep(e: CanonicalEvent) -> bool:
        moment = parse_timestamp(e.occurred_at)
        return (
            (wanted["event_type"] is None or e.event_type == wanted["event_type"])
            and (wanted["resource_type"] is None or e.resource_type == wanted["resource_type"])
            and (
                wanted["resource_id"] is None or (e.resource_id == wanted["resource_id"] and e.resource_type)
            )
            and (wanted["source"] is None or e.source == wanted["source"])
            and (wanted["from"] is None or moment >= wanted["from"])
            and (wanted["to"] is None or moment <= wanted["to"])
        )

    return newest_first([e for e in events if keep(e)])


def pages(hub: Hub, path: str, params: dict[str, Any], key: str, *, by_cursor: bool) -> Iterator[dict]:
    offset, cursor = 0, None
    for _ in range(200):
        query = dict(params)
        if by_cursor:
            query["cursor"] = cursor
        else:
            query["offset"] = offset
        status, body = hub.get(path, query, key=key)
        assert status == 200, body
        yield body
        if not body["hasNext"]:
            assert body["nextCursor"] is None
            return
        offset += len(body["events"])
        cursor = body["nextCursor"]
        assert cursor
    raise AssertionError("paging did not end")


def collect(hub: Hub, path: str, params: dict[str, Any], key: str, expected: list[str]) -> None:
    for by_cursor in (False, True):
        seen: list[str] = []
        for body in pages(hub, path, params, key, by_cursor=by_cursor):
            assert body["total"] == len(expected)
            assert body["limit"] == params["limit"]
            assert len(body["events"]) <= params["limit"]
            seen += [e["id"] for e in body["events"]]
        assert seen == expected, ("cursor" if by_cursor else "offset", params)


def stamp(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(event_specs, max_size=24),
    queries=st.lists(filters, min_size=1, max_size=3),
    limit=st.integers(min_value=1, max_value=7),
    data=st.data(),
)
def test_every_page_of_every_list_agrees_with_the_reference(
    hub: Hub, tenants: Iterator[str], specs: list[dict], queries: list[dict], limit: int, data: st.DataObject
) -> None:
    # Given a fresh tenant's random events, counted by the aggregator
    tenant = next(tenants)
    key = tenant_key(tenant)
    events = [make_event(tenant, **spec) for spec in specs]
    hub.put(*events)
    hub.aggregate()
    # When every list is read page by page (offset and cursor)
    # Then each equals the reference (collect checks every page and the whole)
    for wanted in queries:
        if wanted["source"]:  # a source list takes no other filter but the range
            wanted.update(event_type=None, resource_type=None, resource_id=None)
        if wanted["from"] and wanted["to"] and wanted["from"] > wanted["to"]:
            wanted["from"], wanted["to"] = wanted["to"], wanted["from"]
        if data.draw(st.booleans()) and events:  # bounds exactly on an event's time
            wanted["from"] = parse_timestamp(data.draw(st.sampled_from(events)).occurred_at)
        params = {
            "event_type": wanted["event_type"],
            "resource_type": wanted["resource_type"],
            "resource_id": wanted["resource_id"],
            "from": stamp(wanted["from"]),
            "to": stamp(wanted["to"]),
            "source": wanted["source"],
            "limit": limit,
        }
        if wanted["from"] and wanted["to"] and wanted["from"] > wanted["to"]:
            continue
        collect(hub, "/api/v1/events", params, key, reference(events, wanted))
    correlation = data.draw(st.sampled_from(["flow-a", "flow-b"]))
    expected = newest_first([e for e in events if e.correlation_id == correlation])
    collect(hub, f"/api/v1/events/correlation/{correlation}", {"limit": limit}, key, expected)
    resource_type, resource_id = data.draw(st.sampled_from([("classify_run", "r1"), ("webset", "r2")]))
    expected = newest_first(
        [e for e in events if (e.resource_type, e.resource_id) == (resource_type, resource_id)]
    )
    collect(hub, f"/api/v1/events/resource/{resource_type}/{resource_id}", {"limit": limit}, key, expected)


def test_a_cursor_page_reads_no_more_than_one_page_however_deep(hub: Hub) -> None:
    # Given 60 events of one type over two days
    events = [
        make_event(occurred_at=START + timedelta(minutes=47 * n), event_type="webset.created")
        for n in range(60)
    ]
    hub.put(*events)
    hub.aggregate()
    # When the list is followed by cursor, 5 at a time
    cursor, reads = None, []
    while True:
        hub.store.meter.reset()
        status, body = hub.get(
            "/api/v1/events", {"event_type": "webset.created", "limit": 5, "cursor": cursor}
        )
        assert status == 200
        reads.append(hub.store.meter.by_operation.get("Query:byType", 0))
        cursor = body["nextCursor"]
        if cursor is None:
            break
    # Then every page read at most limit + 1 index entries, at any depth
    assert len(reads) == 12
    assert max(reads) <= 6
    # And the offset form of the last page reads all the entries before it
    hub.store.meter.reset()
    hub.get("/api/v1/events", {"event_type": "webset.created", "limit": 5, "offset": 55})
    assert hub.store.meter.by_operation["Query:byType"] == 60


def test_an_offset_past_the_end_reads_no_events(hub: Hub) -> None:
    # Given twelve counted events
    hub.put(*(make_event(occurred_at=START + timedelta(minutes=n)) for n in range(12)))
    hub.aggregate()
    hub.store.meter.reset()
    # When the list is asked for from an offset far past its end
    status, body = hub.get("/api/v1/events", {"offset": 10**12, "limit": 100})
    # Then it answers an empty last page with the total
    assert (status, body["events"], body["hasNext"], body["total"]) == (200, [], False, 12)
    # And no index was queried for it
    assert not any(name.startswith("Query:") for name in hub.store.meter.by_operation)
