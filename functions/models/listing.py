"""Index partitions and index entries: what the listing logic walks and the event index reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SourceKind(StrEnum):
    TIME = "time"  # one day of a tenant
    TYPE = "type"
    RESOURCE = "resource"
    CORRELATION = "correlation"


@dataclass(frozen=True)
class Source:
    """One index partition of a tenant: ``parts`` are the key values after the tenant."""

    kind: SourceKind
    tenant_id: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One index entry: enough to order, filter and fetch the event."""

    id: str
    position: str  # the index sort value "{occurredAt}#{id}": newest first = descending
    event_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    source: str | None = None
