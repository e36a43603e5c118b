"""The canonical event's plain values: its id, its timestamps, its channel and an artifact's status.

Kept apart from the pydantic models of ``models.event`` (which re-exports them), so that a path
that needs only these (the aggregator's counting) does not import pydantic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

# Namespace of our event ids: uuid5(namespace, "{tenantId}/{source}/{sourceEventId}").
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1f0e-4d0a-5b7e-9c39-3f5d2b8e7a10")


def event_id_for(tenant_id: str, source: str, source_event_id: str) -> str:
    """Our id of a provider event: the same provider event always maps to the same id.

    The tenant is part of the name so that two tenants connected to the same kind of sender
    can never collide on a provider's event id (a collision would look like a duplicate).
    """
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{tenant_id}/{source}/{source_event_id}"))


LATEST = datetime.max.replace(tzinfo=UTC)  # the latest representable moment (ranges clamp to it)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with fixed microsecond precision, so that strings sort like times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # The year is padded by hand: strftime's %Y gives "1", not "0001", for years before 1000.
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str | int | float) -> datetime:
    """Parse ISO 8601 (with Z or an offset) or unix seconds into an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Channel(StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"


class ArtifactStatus(StrEnum):
    PENDING = "pending"
    COPIED = "copied"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUSED = "refused"
