"""Exa Websets' events list: ``GET /v0/events?createdAfter&createdBefore&limit&cursor``, newest first.

Cursors are keyset cursors (the last event's ``createdAt`` and id), so events inserted while a
client pages do not shift the pages it has not read yet.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from eventhub.demo.base import FakeProvider, Reply, Request
from functions.models.event import parse_timestamp

EVENTS_PATH = "/v0/events"
EVENT_TYPES = (
    "webset.created",
    "webset.search.created",
    "webset.item.created",
    "webset.item.enriched",
    "webset.search.completed",
    "webset.idle",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _cursor(key: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _uncursor(text: str) -> tuple[float, str]:
    stamp, event_id = json.loads(base64.urlsafe_b64decode(text.encode()))
    return float(stamp), str(event_id)


class ExaFake(FakeProvider):
    def __init__(self, api_key: str = "exa-fake-api-key", *, port: int = 0) -> None:
        super().__init__(port=port)
        self.api_key = api_key
        self._keys: list[tuple[float, str]] = []
        self._events: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)

    def make_event(self, created_at: datetime, **fields: Any) -> dict[str, Any]:
        n = next(self._numbers)
        event_type = EVENT_TYPES[n % len(EVENT_TYPES)]
        webset = f"webset_{(n // 6) + 1:08d}"
        if event_type.startswith("webset.item"):
            data = {"object": "webset_item", "id": f"witem_{n:08d}", "websetId": webset}
        elif event_type.startswith("webset.search"):
            data = {"object": "webset_search", "id": f"wsearch_{n:08d}", "websetId": webset}
        else:
            data = {"object": "webset", "id": webset, "status": "idle"}
        return {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": event_type,
            "data": data,
            "createdAt": _iso(created_at),
            **fields,
        }

    def insert(self, event: dict[str, Any]) -> dict[str, Any]:
        key = (parse_timestamp(event["createdAt"]).timestamp(), event["id"])
        with self.lock:
            index = bisect.bisect_left(self._keys, key)
            self._keys.insert(index, key)
            self._events.insert(index, event)
        return event

    def add_events(
        self, count: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
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

    def authorized(self, request: Request) -> bool:
        return request.header("x-api-key") == self.api_key

    def unauthorized(self) -> Reply:
        return Reply(401, {"error": "Unauthorized", "message": "Invalid API key"})

    def route(self, request: Request) -> Reply:
        if request.method != "GET":
            return Reply(405, {"error": "Method Not Allowed"})
        if request.path == EVENTS_PATH:
            return self._list(request)
        if request.path.startswith(EVENTS_PATH + "/"):
            wanted = request.path.rsplit("/", 1)[-1]
            with self.lock:
                found = next((e for e in self._events if e["id"] == wanted), None)
            return Reply(200, found) if found else Reply(404, {"error": "Not Found"})
        return Reply(404, {"error": "Not Found"})

    def _list(self, request: Request) -> Reply:
        q = request.query
        try:
            limit = int(q.get("limit", "25"))
            low = parse_timestamp(q["createdAfter"]).timestamp() if q.get("createdAfter") else None
            high = parse_timestamp(q["createdBefore"]).timestamp() if q.get("createdBefore") else None
            after = _uncursor(q["cursor"]) if q.get("cursor") else None
        except (ValueError, KeyError, TypeError):
            return Reply(400, {"error": "Bad Request", "message": "invalid query parameter"})
        if not 1 <= limit <= 200:
            return Reply(400, {"error": "Bad Request", "message": "limit must be between 1 and 200"})
        with self.lock:
            lo = 0 if low is None else bisect.bisect_left(self._keys, (low, ""))
            hi = len(self._keys) if high is None else bisect.bisect_right(self._keys, (high, "\uffff"))
            if after is not None:
                hi = min(hi, bisect.bisect_left(self._keys, after))  # strictly older than the cursor
            start = max(lo, hi - limit)
            page = [self._events[i] for i in range(hi - 1, start - 1, -1)]
            has_more = start > lo
            next_cursor = _cursor(self._keys[start]) if has_more else None
        return Reply(200, {"data": page, "hasMore": has_more, "nextCursor": next_cursor})

    def malformed(self, kind: str, request: Request) -> Reply:
        reply = self._list(request)
        if kind == "bad_json":
            return Reply(200, reply.encoded()[: max(10, len(reply.encoded()) // 2)])
        if kind == "missing_field" and reply.body.get("data"):
            broken = dict(reply.body["data"][0])
            broken.pop("type", None)
            reply.body = {**reply.body, "data": [broken, *reply.body["data"][1:]]}
            return reply
        if kind == "missing_cursor":
            return Reply(200, {**reply.body, "hasMore": True, "nextCursor": None})
        return super().malformed(kind, request)
