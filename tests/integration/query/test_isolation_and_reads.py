"""Tenant isolation on every route, and no request path ever scans the table."""

from __future__ import annotations

from typing import Any

from functions.adapters import factory
from tests.integration.query.conftest import GLOBEX_KEY, Hub, at, make_event

ROUTES = [
    ("/api/v1/events", {}),
    ("/api/v1/events", {"event_type": "classify_run.processed"}),
    ("/api/v1/events", {"resource_type": "classify_run"}),
    ("/api/v1/events", {"resource_id": "clr_1"}),
    ("/api/v1/events", {"resource_type": "classify_run", "resource_id": "clr_1", "from": "2025-02-26"}),
    ("/api/v1/events", {"from": "2025-02-26T20:00:30Z", "to": "2025-02-26T20:30:00Z"}),
    ("/api/v1/events/correlation/flow-1", {}),
    ("/api/v1/events/resource/classify_run/clr_1", {}),
    ("/api/v1/events/aggregate", {}),
    ("/api/v1/events/aggregate", {"from": "2025-02-26T20:00:30Z", "to": "2025-02-26T20:30:00Z"}),
    ("/api/v1/events/stats/by-actor", {}),
    ("/api/v1/events/stats/by-actor", {"from": "2025-02-26T20:00:30Z"}),
]


def _seed(hub: Hub) -> tuple[list[Any], list[Any]]:
    # The same correlation, resource, types and minutes in both tenants
    acme = [make_event("acme", occurred_at=at(n), actor_id=f"a-{n}") for n in range(5)]
    globex = [make_event("globex", occurred_at=at(n + 0.5), actor_id="g-1") for n in range(2)]
    hub.put(*acme, *globex)
    hub.aggregate()
    return acme, globex


def _ids(body: dict[str, Any]) -> set[str]:
    return {e["id"] for e in body.get("events", [])}


def test_every_route_shows_a_tenant_only_its_own_events(hub: Hub) -> None:
    # Given five acme events and two globex events alike in correlation, resource, type and minute
    acme, globex = _seed(hub)
    acme_ids = {e.id for e in acme}
    globex_ids = {e.id for e in globex}
    for path, params in ROUTES:
        # When globex asks each route (every filter here admits both of its events)
        status, body = hub.get(path, params, key=GLOBEX_KEY)
        # Then it sees its own events, counts and actors, and none of acme's
        assert status == 200, (path, body)
        assert {"events", "total", "actors"} & set(body), (path, body)
        assert not _ids(body) & acme_ids, path
        if "events" in body:
            assert _ids(body) == globex_ids, path
            assert body["total"] == 2, path
        if "total" in body and "byEventType" in body:
            assert body["total"] == 2, path
        if "actors" in body:
            assert [actor["actorId"] for actor in body["actors"]] == ["g-1"], path
    # And another tenant's event is simply absent
    status, _ = hub.get(f"/api/v1/events/{acme[0].id}", key=GLOBEX_KEY)
    assert status == 404
    status, body = hub.get("/api/v1/events/correlation/flow-1", key=GLOBEX_KEY)
    assert (status, body["total"], _ids(body)) == (200, 2, {e.id for e in globex})


def test_no_route_issues_a_scan(hub: Hub) -> None:
    # Given every DynamoDB call of the functions recorded
    _seed(hub)
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = factory.client("dynamodb")
    client.meta.events.register("before-call.dynamodb.*", record)
    try:
        # When every route is asked (including paging by cursor and an unknown event)
        paged = []
        for path, params in ROUTES:
            status, body = hub.get(path, {**params, "limit": 2} if "aggregate" not in path else params)
            assert status == 200
            if body.get("nextCursor"):
                assert hub.get(path, {**params, "limit": 2, "cursor": body["nextCursor"]})[0] == 200
                paged.append(path)
        assert paged, "no route answered a next page, so no cursor was followed"
        assert hub.get("/api/v1/events/6f1c1f0e-4d0a-5b7e-9c39-3f5d2b8e7a10")[0] == 404
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", record)
    # Then they were queries and key lookups only
    assert {"Query", "BatchGetItem", "GetItem"} >= set(calls)
    assert "Query" in calls and "Scan" not in calls
