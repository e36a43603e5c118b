"""API response models: the VAI events API shape (camelCase), kept apart from stored items."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from functions.models.event import CanonicalEvent


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
