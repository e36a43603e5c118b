"""The canonical event: every provider's event, in the shape of the VAI events API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

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


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Artifact(_Camel):
    """A result file an event points at. ``source_url`` never carries the URL's credentials."""

    name: str
    source_url: str
    status: ArtifactStatus = ArtifactStatus.PENDING
    reason: str | None = None
    s3_key: str | None = None
    size: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    copied_at: str | None = None
    # Extend's signed_data_url: the fetched file is the event's payload.
    is_payload: bool = False
    # A failure that a later attempt may cure (5xx, connection errors), as opposed to a
    # deterministic one (too large, 404): the copier retries only the former by itself.
    retryable: bool | None = None
    # Events stored before credentialed URLs were kept in the item: the data bucket key their
    # URL was kept under (None there means the older key, artifact-sources/{id}/{n}). Never served.
    source_key: str | None = None

    @property
    def needs_source(self) -> bool:
        """Whether the stream still has to copy it: not copied yet, or failed in a way a retry
        may cure."""
        if self.status == ArtifactStatus.PENDING:
            return True
        return self.status == ArtifactStatus.FAILED and bool(self.retryable)

    @property
    def keeps_source(self) -> bool:
        """Whether its item keeps the credentialed URL: while the stream needs it, and after a
        refusal (the policy turned the URL down; a recopy once the connection's ``artifactHosts``
        admit it needs the URL). Copied, expired and failed-for-good are final: the URL goes."""
        return self.needs_source or self.status == ArtifactStatus.REFUSED


class CanonicalEvent(_Camel):
    id: str
    tenant_id: str
    source: str
    source_event_id: str
    event_type: str
    occurred_at: str
    received_at: str
    resource_type: str | None = None
    resource_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    actor_type: str | None = None
    actor_id: str | None = None
    channel: Channel
    payload: Any = Field(default_factory=dict)
    artifacts: list[Artifact] = Field(default_factory=list)


class NewEvent(BaseModel):
    """What a provider mapper hands to the store: the event, plus the artifact URLs with their
    credentials, by artifact index (kept apart from the event in its item, never served; the
    copier alone reads them)."""

    event: CanonicalEvent
    artifact_urls: list[str] = Field(default_factory=list)
