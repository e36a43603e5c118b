"""VirtuousAI events API: pulled events keep VAI's own fields; the tenant is the connection's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.models.config import Connection
from functions.models.event import CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp
from functions.providers.base import optional_str, require_object, require_str, timestamp_or

SOURCE = "vai"


def map_event(envelope: Any, connection: Connection, received_at: datetime) -> NewEvent:
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
