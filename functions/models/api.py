"""API response models: the VAI events API shape (camelCase), kept apart from stored items."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from functions.models.event import Artifact, CanonicalEvent


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Event(ApiModel):
    id: str
    tenant_id: str
    event_type: str
    occurred_at: str
    actor_type: str | None = None
    actor_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: Any = Field(default_factory=dict)

    @classmethod
    def of(cls, event: CanonicalEvent) -> Event:
        return cls(
            id=event.id,
            tenant_id=event.tenant_id,
            event_type=event.event_type,
            occurred_at=event.occurred_at,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            payload=event.payload,
        )


class ErrorBody(ApiModel):
    error: str
    message: str


class ArtifactInfo(ApiModel):
    """One result file of an event: our copy's state (the source URL without its credentials)."""

    index: int
    name: str
    status: str
    reason: str | None = None
    source_url: str
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    copied_at: str | None = None
    download_path: str | None = None

    @classmethod
    def of(cls, event_id: str, index: int, artifact: Artifact) -> ArtifactInfo:
        copied = artifact.status == "copied"
        return cls(
            index=index,
            name=artifact.name,
            status=artifact.status,
            reason=artifact.reason,
            source_url=artifact.source_url,
            content_type=artifact.content_type,
            size=artifact.size,
            sha256=artifact.sha256,
            copied_at=artifact.copied_at,
            download_path=f"/api/v1/events/{event_id}/artifacts/{index}" if copied else None,
        )


class ArtifactList(ApiModel):
    event_id: str
    artifacts: list[ArtifactInfo]
