"""API response models: the VAI events API shape (camelCase), kept apart from stored items."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from functions.models.event import Artifact, CanonicalEvent, Channel


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Event(ApiModel):
    """An event in the VAI events API's shape, plus where it came from: source, sourceEventId,
    channel and receivedAt are additions to that shape, which a VAI client may ignore."""

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
    source: str = Field(
        description="the provider the event came from, as its connection names it (klavi, exa, extend, "
        "standard-webhooks, vai)"
    )
    source_event_id: str = Field(description="the provider's own id of the event, verbatim")
    channel: Channel = Field(description="how it reached the hub: pushed (webhook) or pulled (poll)")
    received_at: str = Field(description="when the hub received it, ISO 8601 UTC")

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
            source=event.source,
            source_event_id=event.source_event_id,
            channel=event.channel,
            received_at=event.received_at,
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


class ResourceType(StrEnum):
    """Resource types the query API accepts in ``resource_type``: VAI's, then each provider's.

    VAI (its own enum): action_run … template. Extend: the ``object`` of its payloads (runs,
    processors and their versions, workflows, files). Exa Websets: the ``object`` of an
    event's ``data``. Klavi: ``analysis`` and ``monitor`` (the product that sent the event).
    Events of other types are stored and listed all the same; they are not filterable by type.
    """

    # VAI
    ACTION_RUN = "action_run"
    AGENT_SPEC = "agent_spec"
    ARTIFACT = "artifact"
    AUTOMATION = "automation"
    AUTOMATION_RUN = "automation_run"
    CHAT_THREAD = "chat_thread"
    CONNECTION = "connection"
    DECISION = "decision"
    FLASHBOARD = "flashboard"
    INBOUND_MESSAGE = "inbound_message"
    TEMPLATE = "template"
    # Extend
    PARSE_RUN = "parse_run"
    EDIT_RUN = "edit_run"
    EXTRACT_RUN = "extract_run"
    CLASSIFY_RUN = "classify_run"
    SPLIT_RUN = "split_run"
    BATCH_PROCESSOR_RUN = "batch_processor_run"
    BATCH_PARSE_RUN = "batch_parse_run"
    EXTRACTOR = "extractor"
    EXTRACTOR_VERSION = "extractor_version"
    CLASSIFIER = "classifier"
    CLASSIFIER_VERSION = "classifier_version"
    SPLITTER = "splitter"
    SPLITTER_VERSION = "splitter_version"
    WORKFLOW = "workflow"
    WORKFLOW_RUN = "workflow_run"
    FILE = "file"
    # Exa Websets
    WEBSET = "webset"
    WEBSET_SEARCH = "webset_search"
    WEBSET_ITEM = "webset_item"
    WEBSET_ENRICHMENT = "webset_enrichment"
    WEBSET_EXPORT = "webset_export"
    IMPORT = "import"
    MONITOR = "monitor"
    MONITOR_RUN = "monitor_run"
    STREAM = "stream"
    STREAM_RUN = "stream_run"
    # Klavi
    ANALYSIS = "analysis"


class EventList(ApiModel):
    """A page of events, newest first. ``nextCursor`` continues right after this page."""

    events: list[Event]
    has_next: bool
    limit: int
    offset: int
    total: int
    next_cursor: str | None = None


class KeyCount(ApiModel):
    count: int
    key: str


class Aggregate(ApiModel):
    by_actor_type: list[KeyCount]
    by_event_type: list[KeyCount]
    by_resource_type: list[KeyCount]
    total: int


class ActorStats(ApiModel):
    actor_id: str
    actor_type: str
    failures: int
    successes: int
    total: int


class ActorStatsList(ApiModel):
    actors: list[ActorStats]


class ValidationErrorItem(ApiModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(ApiModel):
    detail: list[ValidationErrorItem]
