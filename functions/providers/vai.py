"""VirtuousAI events API: pulled events keep VAI's own fields; the tenant is the connection's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.errors import MalformedPage
from functions.models.config import Connection
from functions.models.event import CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp, utcnow
from functions.models.polling import Page
from functions.ports.polling import HttpSource
from functions.providers.base import optional_str, require_object, require_str, timestamp_or
from functions.providers.paging import map_all, page_field, page_json
from functions.redaction import redact_url

SOURCE = "vai"


def map_event(envelope: Any, connection: Connection, received_at: datetime) -> NewEvent:
    """VAI's fields, by name; any others are ignored. Another hub's query API serves this shape
    plus its own provenance (source, sourceEventId, channel, receivedAt): polled here, the event
    is a VAI event of this connection, its provider id the served ``id``, received now."""
    body = require_object(envelope, "VAI event")
    source_event_id = require_str(body, "id", "VAI event")
    event = CanonicalEvent(
        id=event_id_for(connection.tenant_id, SOURCE, source_event_id),
        tenant_id=connection.tenant_id,
        source=SOURCE,
        source_event_id=source_event_id,
        event_type=require_str(body, "eventType", "VAI event"),
        occurred_at=timestamp_or(require_str(body, "occurredAt", "VAI event"), received_at),
        received_at=format_timestamp(received_at),
        resource_type=optional_str(body, "resourceType"),
        resource_id=optional_str(body, "resourceId"),
        correlation_id=optional_str(body, "correlationId"),
        causation_id=optional_str(body, "causationId"),
        actor_type=optional_str(body, "actorType"),
        actor_id=optional_str(body, "actorId"),
        channel=Channel.POLL,
        payload=body.get("payload") if body.get("payload") is not None else {},
    )
    return NewEvent(event=event)


# -- the events API, as the incremental sync reads it ------------------------------------------

EVENTS_PATH = "/api/v1/events"


class VaiEvents:
    """``GET {base}/api/v1/events?from&to&limit&offset`` with ``X-API-Key``; newest first."""

    def __init__(self, connection: Connection, api_key: str, http: HttpSource) -> None:
        assert connection.poll is not None
        self.connection = connection
        self.poll = connection.poll
        self.url = self.poll.base_url + (self.poll.path or EVENTS_PATH)
        self.where = redact_url(self.url)
        self.headers = {"X-API-Key": api_key}
        self.http = http

    def fetch(
        self, start: datetime, end: datetime, position: int | str | None, budget_seconds: float
    ) -> Page:
        offset = int(position or 0)
        params: dict[str, str | int] = {
            "from": format_timestamp(start),
            "to": format_timestamp(end),
            "limit": self.poll.page_size,
            "offset": offset,
        }
        response = self.http.get(self.url, params=params, headers=self.headers, budget_seconds=budget_seconds)
        where = f"{self.where} (offset {offset})"
        body = page_json(response, where)
        items = page_field(body, "events", list, where)
        has_next = page_field(body, "hasNext", bool, where)
        received_at = utcnow()
        events = map_all(items, lambda item: map_event(item, self.connection, received_at), where)
        if has_next and not items:
            raise MalformedPage(f"{where}: hasNext is true on an empty page")
        return Page(events, offset + len(items) if has_next else None)
