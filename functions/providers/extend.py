"""Extend: ``x-extend-request-signature`` = hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.errors import SignatureError
from functions.models.config import Connection
from functions.models.event import Artifact, CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp
from functions.providers.base import (
    Delivery,
    check_timestamp,
    hmac_sha256,
    matches,
    optional_str,
    require_object,
    require_str,
    signing_keys,
    timestamp_or,
)
from functions.redaction import redact_url

SOURCE = "extend"
TIMESTAMP_HEADER = "x-extend-request-timestamp"
SIGNATURE_HEADER = "x-extend-request-signature"
MAX_AGE_SECONDS = 300
MAX_FUTURE_SECONDS = 60
DEFAULT_ARTIFACT_HOSTS = ("*.extend.ai", "*.extend.app")


def verify(delivery: Delivery, secrets: Sequence[str]) -> None:
    timestamp = delivery.require(TIMESTAMP_HEADER)
    signature = delivery.require(SIGNATURE_HEADER)
    check_timestamp(timestamp, delivery.received_at, max_age=MAX_AGE_SECONDS, max_future=MAX_FUTURE_SECONDS)
    message = f"v0:{timestamp}:".encode() + delivery.body
    keys = signing_keys(secrets)
    if not any(matches(hmac_sha256(key, message).hex(), signature.lower()) for key in keys):
        raise SignatureError("signature does not match")


def _correlation(event_type: str, payload: dict[str, Any]) -> str | None:
    """One business flow: the workflow run for workflow events, else the file being processed."""
    if event_type.startswith("workflow_run."):
        run = payload.get("workflowRun")
        return (
            optional_str(run, "id") or optional_str(payload, "workflowRunId") or optional_str(payload, "id")
        )
    return optional_str(payload.get("file"), "id") or optional_str(payload, "id")


def map_webhook(envelope: Any, delivery: Delivery, connection: Connection) -> NewEvent:
    body = require_object(envelope, "Extend webhook body")
    source_event_id = require_str(body, "eventId", "Extend webhook body")
    event_type = require_str(body, "eventType", "Extend webhook body")
    payload = body.get("payload")
    payload = payload if isinstance(payload, dict) else {"value": payload}
    artifacts: list[Artifact] = []
    urls: list[str] = []
    resource_type = optional_str(payload, "object")
    if payload.get("object") == "signed_data_url" and isinstance(payload.get("data"), str):
        # The run itself is behind the URL; its kind is the event type's prefix (extract_run).
        resource_type = event_type.split(".", 1)[0] or None
        urls.append(payload["data"])
        artifacts.append(Artifact(name="payload", source_url=redact_url(payload["data"]), is_payload=True))
        payload = {**payload, "data": redact_url(payload["data"])}
    event = CanonicalEvent(
        id=event_id_for(connection.tenant_id, SOURCE, source_event_id),
        tenant_id=connection.tenant_id,
        source=SOURCE,
        source_event_id=source_event_id,
        event_type=event_type,
        occurred_at=timestamp_or(payload.get("updatedAt") or payload.get("createdAt"), delivery.received_at),
        received_at=format_timestamp(delivery.received_at),
        resource_type=resource_type,
        resource_id=optional_str(payload, "id"),
        correlation_id=_correlation(event_type, payload),
        actor_type="provider",
        actor_id=connection.id,
        channel=Channel.WEBHOOK,
        payload=payload,
        artifacts=artifacts,
    )
    return NewEvent(event=event, artifact_urls=urls)
