"""The canonical event: every provider's event, in the shape of the VAI events API.

Its plain values (id, timestamps, enums) live in ``models.event_values`` and are re-exported here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from functions.models.event_values import (
    EVENT_ID_NAMESPACE,
    LATEST,
    ArtifactStatus,
    Channel,
    event_id_for,
    format_timestamp,
    parse_timestamp,
    utcnow,
)

__all__ = [
    "EVENT_ID_NAMESPACE",
    "LATEST",
    "Artifact",
    "ArtifactStatus",
    "CanonicalEvent",
    "Channel",
    "NewEvent",
    "event_id_for",
    "format_timestamp",
    "parse_timestamp",
    "utcnow",
]


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
