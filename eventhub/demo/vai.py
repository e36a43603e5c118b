"""VirtuousAI's events API: ``GET /api/v1/events?from&to&limit&offset``, newest first, offset paging."""

from __future__ import annotations

import bisect
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from eventhub.demo.base import FakeProvider, Reply, Request
from functions.models.event import parse_timestamp

EVENTS_PATH = "/api/v1/events"
EVENT_TYPES = ("schedule.fired", "automation_run.completed", "action_run.failed", "decision.made")
RESOURCE_TYPES = ("automation", "automation_run", "action_run", "decision")
ACTOR_TYPES = ("user", "system", "automation", "api")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class VaiFake(FakeProvider):
    """The event list, kept sorted by (occurredAt, id); inserts are allowed at any time."""

    def __init__(
        self, api_key: str = "vai-fake-api-key", *, port: int = 0, tenant_id: str = "vai-tenant"
    ) -> None:
        super().__init__(port=port)
        self.api_key = api_key
        self.tenant_id = tenant_id
        self._keys: list[tuple[float, str]] = []
        self._events: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)

    # -- data ----------------------------------------------------------------------------------

    def make_event(self, occurred_at: datetime, **fields: Any) -> dict[str, Any]:
        n = next(self._numbers)
        correlation = str(uuid.UUID(int=n // 5 + 1))
        return {
            "id": str(uuid.uuid4()),
            "tenantId": self.tenant_id,
            "eventType": EVENT_TYPES[n % len(EVENT_TYPES)],
            "occurredAt": _iso(occurred_at),
            "actorType": ACTOR_TYPES[n % len(ACTOR_TYPES)],
            "actorId": f"actor-{n % 7}",
            "resourceType": RESOURCE_TYPES[n % len(RESOURCE_TYPES)],
            "resourceId": str(uuid.UUID(int=n)),
            "correlationId": correlation,
            "causationId": None if n % 5 == 0 else str(uuid.UUID(int=n - 1)),
            "payload": {"sequence": n, "note": "fake VAI event"},
            **fields,
        }

    def insert(self, event: dict[str, Any]) -> dict[str, Any]:
        key = (parse_timestamp(event["occurredAt"]).timestamp(), event["id"])
        with self.lock:
            index = bisect.bisect_left(self._keys, key)
            self._keys.insert(index, key)
            self._events.insert(index, event)
        return event

    def add_events(
        self, count: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """``count`` events spread evenly over [start, end] (default: the last hour)."""
        end = end or datetime.now(UTC)
        start = start or end - timedelta(hours=1)
        step = (end - start) / max(1, count)
        return [self.insert(self.make_event(start + step * i)) for i in range(count)]

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._events)

    @property
    def ids(self) -> set[str]:
        with self.lock:
            return {e["id"] for e in self._events}

    # -- API -----------------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        bearer = (request.header("authorization") or "").removeprefix("Bearer ").strip()
        return self.api_key in (request.header("x-api-key"), bearer)

    def unauthorized(self) -> Reply:
        return Reply(401, {"detail": "Invalid API key"})

    def route(self, request: Request) -> Reply:
        if request.method != "GET":
            return Reply(405, {"detail": "Method Not Allowed"})
        if request.path == EVENTS_PATH:
            return self._list(request)
        if request.path.startswith(EVENTS_PATH + "/"):
            wanted = request.path.rsplit("/", 1)[-1]
            with self.lock:
                found = next((e for e in self._events if e["id"] == wanted), None)
            return Reply(200, found) if found else Reply(404, {"detail": "Event not found"})
        return Reply(404, {"detail": "Not Found"})

    def _list(self, request: Request) -> Reply:
        q = request.query
        errors = []
        try:
            limit = int(q.get("limit", "100"))
            if not 1 <= limit <= 100:
                errors.append(("limit", "Input should be between 1 and 100", "less_than_equal"))
        except ValueError:
            limit, errors = 100, [("limit", "Input should be a valid integer", "int_parsing")]
        try:
            offset = int(q.get("offset", "0"))
            if offset < 0:
                errors.append(("offset", "Input should be greater than or equal to 0", "greater_than_equal"))
        except ValueError:
            offset, errors = 0, [*errors, ("offset", "Input should be a valid integer", "int_parsing")]
        bounds = []
        for name in ("from", "to"):
            try:
                bounds.append(parse_timestamp(q[name]).timestamp() if q.get(name) else None)
            except ValueError:
                bounds.append(None)
                errors.append((name, "Input should be a valid datetime", "datetime_parsing"))
        if errors:
            return Reply(422, {"detail": [{"loc": ["query", n], "msg": m, "type": t} for n, m, t in errors]})
        low, high = bounds
        with self.lock:
            lo = 0 if low is None else bisect.bisect_left(self._keys, (low, ""))
            hi = len(self._keys) if high is None else bisect.bisect_right(self._keys, (high, "\uffff"))
            total = max(0, hi - lo)
            first, last = hi - 1 - offset, max(lo, hi - offset - limit)  # newest first
            page = [self._events[i] for i in range(first, last - 1, -1)] if first >= lo else []
        body = {
            "events": page,
            "hasNext": offset + len(page) < total,
            "limit": limit,
            "offset": offset,
            "total": total,
        }
        return Reply(200, body)

    def malformed(self, kind: str, request: Request) -> Reply:
        reply = self._list(request)
        if kind == "bad_json":
            return Reply(200, reply.encoded()[: max(10, len(reply.encoded()) // 2)])
        if kind == "missing_field" and reply.body.get("events"):
            broken = dict(reply.body["events"][-1])
            broken.pop("eventType", None)
            reply.body = {**reply.body, "events": [*reply.body["events"][:-1], broken]}
            return reply
        if kind == "missing_envelope":
            return Reply(200, {"events": reply.body.get("events", [])})
        return super().malformed(kind, request)
