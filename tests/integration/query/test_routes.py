"""Every route of the query API: the seed's shapes field for field, its 422s, and auth first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.query.conftest import ACME_KEY, Hub, at, make_event

# The seed's response bodies (seeds/001), field for field.
EVENT_FIELDS = {
    "actorId",
    "actorType",
    "causationId",
    "correlationId",
    "eventType",
    "id",
    "occurredAt",
    "payload",
    "resourceId",
    "resourceType",
    "tenantId",
}
# Ours: where the event came from (a VAI client that ignores unknown fields is unaffected).
EVENT_EXTENSIONS = {"channel", "receivedAt", "source", "sourceEventId"}
LIST_FIELDS = {"events", "hasNext", "limit", "offset", "total"}
LIST_EXTENSIONS = {"nextCursor"}  # ours: the cursor of the next page (null on the last)
AGGREGATE_FIELDS = {"byActorType", "byEventType", "byResourceType", "total"}
KEY_COUNT_FIELDS = {"count", "key"}
ACTOR_FIELDS = {"actorId", "actorType", "failures", "successes", "total"}
ERROR_FIELDS = {"loc", "msg", "type"}


@pytest.fixture
def stored(hub: Hub) -> list[Any]:
    events = [
        make_event(occurred_at=at(1), event_type="classify_run.processed", actor_id="u-1"),
        make_event(occurred_at=at(2), event_type="classify_run.failed", actor_id="u-1"),
        make_event(
            occurred_at=at(3),
            event_type="webset.created",
            resource_type="webset",
            resource_id="ws_1",
            actor_type="provider",
            actor_id="exa-dev",
            correlation_id="ws_1",
        ),
    ]
    hub.put(*events)
    hub.aggregate()
    return events


def test_a_list_has_the_seed_fields_and_events_have_the_seed_fields(hub: Hub, stored: list[Any]) -> None:
    # Given acme's three stored events
    # When each list route is asked for one event
    for path in (
        "/api/v1/events",
        "/api/v1/events/correlation/flow-1",
        "/api/v1/events/resource/classify_run/clr_1",
    ):
        status, body = hub.get(path, {"limit": 1})
        # Then it answers the seed's list fields plus the next page's cursor
        assert status == 200, body
        assert set(body) == LIST_FIELDS | LIST_EXTENSIONS
        assert (body["limit"], body["offset"], body["hasNext"]) == (1, 0, True)
        assert isinstance(body["nextCursor"], str)
        # And an event with the seed's event fields, and the hub's provenance fields
        assert [set(e) for e in body["events"]] == [EVENT_FIELDS | EVENT_EXTENSIONS]
    # When the event list is asked for without paging parameters
    status, body = hub.get("/api/v1/events")
    # Then it answers the default page, whole, newest first
    assert (body["limit"], body["offset"], body["total"], body["hasNext"]) == (100, 0, 3, False)
    assert body["nextCursor"] is None
    assert [e["eventType"] for e in body["events"]] == [
        "webset.created",
        "classify_run.failed",
        "classify_run.processed",
    ]


def test_get_event_answers_the_seed_event(hub: Hub, stored: list[Any]) -> None:
    # Given one of acme's stored events
    event = stored[2]
    # When it is asked for by its id in upper case
    status, body = hub.get(f"/api/v1/events/{event.id.upper()}")
    # Then it answers the event with exactly the seed's fields
    assert status == 200
    assert body == {
        "actorId": "exa-dev",
        "actorType": "provider",
        "causationId": None,
        "correlationId": "ws_1",
        "eventType": "webset.created",
        "id": event.id,
        "occurredAt": event.occurred_at,
        "payload": event.payload,
        "resourceId": "ws_1",
        "resourceType": "webset",
        "tenantId": "acme",
        "source": "vai",
        "sourceEventId": event.source_event_id,
        "channel": "poll",
        "receivedAt": event.received_at,
    }


def test_aggregate_and_stats_have_the_seed_fields(hub: Hub, stored: list[Any]) -> None:
    # Given acme's three stored events, counted
    # When the aggregate is asked for
    status, body = hub.get("/api/v1/events/aggregate")
    # Then it answers the seed's aggregate fields, each row a key and its count
    assert status == 200
    assert set(body) == AGGREGATE_FIELDS
    assert all(set(row) == KEY_COUNT_FIELDS for key in AGGREGATE_FIELDS - {"total"} for row in body[key])
    # And the counts by actor type
    assert body["byActorType"] == [{"count": 2, "key": "user"}, {"count": 1, "key": "provider"}]
    # When the stats by actor are asked for
    status, body = hub.get("/api/v1/events/stats/by-actor")
    # Then they answer each actor's totals, failures and successes
    assert status == 200
    assert set(body) == {"actors"}
    assert body["actors"] == [
        {"actorId": "u-1", "actorType": "user", "failures": 1, "successes": 1, "total": 2},
        {"actorId": "exa-dev", "actorType": "provider", "failures": 0, "successes": 0, "total": 1},
    ]


INVALID = [
    ("/api/v1/events", {"limit": 0}, ["query", "limit"]),
    ("/api/v1/events", {"limit": 101}, ["query", "limit"]),
    ("/api/v1/events", {"offset": -1}, ["query", "offset"]),
    ("/api/v1/events", {"limit": "ten"}, ["query", "limit"]),
    ("/api/v1/events", {"from": "yesterday"}, ["query", "from"]),
    ("/api/v1/events", {"to": "2025-02-30T00:00:00Z"}, ["query", "to"]),
    ("/api/v1/events", {"from": "2025-02-27T00:00:00Z", "to": "2025-02-26T00:00:00Z"}, ["query", "from"]),
    ("/api/v1/events", {"resource_type": "spaceship"}, ["query", "resource_type"]),
    ("/api/v1/events", {"cursor": "not-a-cursor"}, ["query", "cursor"]),
    ("/api/v1/events/aggregate", {"from": "2025-02-27", "to": "2025-02-26"}, ["query", "from"]),
    ("/api/v1/events/aggregate", {"to": "soon"}, ["query", "to"]),
    ("/api/v1/events/stats/by-actor", {"from": "12:00"}, ["query", "from"]),
    ("/api/v1/events/correlation/flow-1", {"limit": 101}, ["query", "limit"]),
    ("/api/v1/events/correlation/flow-1", {"offset": -5}, ["query", "offset"]),
    ("/api/v1/events/resource/spaceship/x1", {}, ["path", "resource_type"]),
    ("/api/v1/events/resource/webset/ws_1", {"limit": 0}, ["query", "limit"]),
    ("/api/v1/events/not-a-uuid", {}, ["path", "event_id"]),
    ("/api/v1/events/6f1c1f0e-4d0a-5b7e-9c39-3f5d2b8e7a1", {}, ["path", "event_id"]),
]


@pytest.mark.parametrize(("path", "params", "loc"), INVALID)
def test_invalid_input_is_a_422_in_the_seed_shape(
    hub: Hub, path: str, params: dict[str, Any], loc: list[str]
) -> None:
    # When a route is asked with invalid input
    status, body = hub.get(path, params)
    # Then it answers 422 with the seed's error shape
    assert status == 422, body
    assert set(body) == {"detail"}
    assert all(set(item) == ERROR_FIELDS for item in body["detail"])
    # And the error locates the invalid input, with a message and a type
    assert loc in [item["loc"] for item in body["detail"]]
    assert all(item["msg"] and item["type"] for item in body["detail"])


def test_a_cursor_from_another_query_is_refused(hub: Hub, stored: list[Any]) -> None:
    # Given the cursor of a filtered list's next page
    _, first = hub.get("/api/v1/events", {"limit": 1, "resource_type": "classify_run"})
    assert isinstance(first["nextCursor"], str), first
    # When it is sent with the unfiltered list
    status, body = hub.get("/api/v1/events", {"limit": 1, "cursor": first["nextCursor"]})
    # Then it is refused as an invalid cursor
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "cursor"]
    # And a correlation's cursor is refused for another correlation
    _, page = hub.get("/api/v1/events/correlation/flow-1", {"limit": 1})
    assert isinstance(page["nextCursor"], str), page
    status, body = hub.get("/api/v1/events/correlation/flow-2", {"limit": 1, "cursor": page["nextCursor"]})
    assert status == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events",
        "/api/v1/events/aggregate",
        "/api/v1/events/stats/by-actor",
        "/api/v1/events/correlation/flow-1",
        "/api/v1/events/resource/classify_run/clr_1",
        "/api/v1/events/6f1c1f0e-4d0a-5b7e-9c39-3f5d2b8e7a10",
        "/api/v1/events/not-a-uuid",
        "/api/v1/events/resource/spaceship/x",
    ],
)
@pytest.mark.parametrize("key", [None, "wrong-key-0000"])
def test_without_a_valid_key_every_route_is_401_json_even_with_invalid_input(
    hub: Hub, path: str, key: str | None
) -> None:
    # When a route is asked without a valid key, and with invalid input
    status, body = hub.get(path, {"limit": 0, "from": "garbage"}, key=key)
    # Then it answers 401 in JSON before validating anything
    assert status == 401
    assert body["error"] == "unauthorized"


def test_bearer_and_cookie_carry_the_key_too(hub: Hub, stored: list[Any]) -> None:
    # Given acme's three stored events
    # When the key is carried as a bearer token, or in VAI's cookie among others
    for headers in ({"Authorization": f"Bearer {ACME_KEY}"}, {"Cookie": f"theme=dark; vai_token={ACME_KEY}"}):
        status, body = hub.get("/api/v1/events", {"limit": 1}, key=None, headers=headers)
        # Then the list answers acme's events
        assert status == 200
        assert body["total"] == 3


def test_unknown_event_is_404(hub: Hub) -> None:
    # When an event the tenant does not have is asked for
    status, body = hub.get("/api/v1/events/6f1c1f0e-4d0a-5b7e-9c39-3f5d2b8e7a10")
    # Then it answers a JSON 404
    assert status == 404
    assert body["error"] == "not_found"


def test_a_provider_resource_type_is_accepted_and_filters(hub: Hub, stored: list[Any]) -> None:
    # Given acme's events, one of them about a webset (a provider's resource type)
    # When the list is filtered by that resource type
    status, body = hub.get("/api/v1/events", {"resource_type": "webset"})
    # Then only that event is listed and counted
    assert status == 200
    assert [e["resourceId"] for e in body["events"]] == ["ws_1"]
    assert body["total"] == 1
    # And the webset's resource route and the resource id filter answer it too
    status, body = hub.get("/api/v1/events/resource/webset/ws_1")
    assert (status, body["total"], len(body["events"])) == (200, 1, 1)
    status, body = hub.get("/api/v1/events", {"resource_id": "ws_1"})
    assert (status, body["total"], len(body["events"])) == (200, 1, 1)


def test_from_and_to_are_inclusive_and_accept_offsets(hub: Hub, stored: list[Any]) -> None:
    # Given acme's three events a minute apart
    middle = stored[1].occurred_at
    # When the list's from and to are both the middle event's time
    status, body = hub.get("/api/v1/events", {"from": middle, "to": middle})
    # Then the list answers that event alone
    assert (status, [e["id"] for e in body["events"]], body["total"]) == (200, [stored[1].id], 1)
    # When the aggregate's to is the second event's time at another offset
    # 20:02 UTC written as 22:02 at +02:00
    status, body = hub.get("/api/v1/events/aggregate", {"to": "2025-02-26T22:02:00.000000+02:00"})
    # Then both events up to it are counted
    assert (status, body["total"]) == (200, 2)


def test_events_and_bounds_at_the_ends_of_time_are_answered(hub: Hub) -> None:
    # Given events in year 1 and in the last minute of year 9999
    first = make_event(occurred_at="0001-01-01T00:00:00.000000Z")
    last = make_event(occurred_at="9999-12-31T23:59:59.999999Z")
    hub.put(first, last)
    hub.aggregate()
    # When ranges reach the ends of time
    everything = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59.999999Z"}
    # Then every route answers, with both events counted where the range holds them
    assert hub.get("/api/v1/events/aggregate", everything)[1]["total"] == 2
    assert hub.get("/api/v1/events/aggregate")[1]["total"] == 2
    assert (
        hub.get("/api/v1/events/stats/by-actor", {"from": "9999-12-31T23:59:30Z"})[1]["actors"][0]["total"]
        == 1
    )
    status, body = hub.get("/api/v1/events", everything)
    assert (status, body["total"], [e["id"] for e in body["events"]]) == (200, 2, [last.id, first.id])
    status, body = hub.get("/api/v1/events", {"to": "0001-01-01T00:00:00Z"})
    assert (status, body["total"], [e["id"] for e in body["events"]]) == (200, 1, [first.id])


def test_offsets_that_push_a_time_past_year_1_or_9999_are_clamped(hub: Hub, stored: list[Any]) -> None:
    # Given acme's three stored events
    # When from is given at an offset that puts it before year 1
    status, body = hub.get("/api/v1/events", {"from": "0001-01-01T00:00:01+05:07"})
    # Then it is taken as the start of time and every event is listed
    assert (status, body["total"]) == (200, 3)
    # When to is given at an offset that puts it after year 9999
    status, body = hub.get("/api/v1/events/aggregate", {"to": "9999-12-31T23:59:00-01:00"})
    # Then it is taken as the end of time and every event is counted
    assert (status, body["total"]) == (200, 3)


def test_a_path_no_route_accepts_is_a_json_404(hub: Hub) -> None:
    # When a path under the events routes that no route accepts is asked for
    status, body = hub.get("/api/v1/events/correlation/a\x16b")
    # Then it answers a JSON 404
    assert (status, body["error"]) == (404, "not_found")
