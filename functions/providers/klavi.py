"""Klavi: analysis events, pulled from a queue or pushed with ``X-Klavi-Signature``.

Push: hex HMAC-SHA256 of the request body, key = the secretKey. Klavi's own example signs
the re-serialized JSON, so the raw body is tried first, then its compact re-serialization, for
bodies up to ``RESERIALIZE_LIMIT`` only. ``X-Klavi-Timestamp`` is not signed but still bounds
replays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
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

SOURCE = "klavi"
SIGNATURE_HEADER = "x-klavi-signature"
TIMESTAMP_HEADER = "x-klavi-timestamp"
DEFAULT_ARTIFACT_HOSTS = ("*.amazonaws.com",)
# The resource each product's events are about: eventType -> (resourceType, payload field).
_RESOURCES = {"analysis": ("analysis", "batchId"), "monitor": ("monitor", "monitorId")}
# The compact re-serialization is tried only for bodies up to this size. A Klavi event is about
# 1 KB; parsing and re-serializing a large body whose signature has already failed is work any
# unauthenticated sender could make intake do (5 MB: ~0.4 s), so a larger body is checked over
# its raw bytes alone.
RESERIALIZE_LIMIT = 64 * 1024


def _reserialized(body: bytes) -> bytes | None:
    try:
        return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):
        return None


def verify(delivery: Delivery, secrets: Sequence[str]) -> None:
    signature = delivery.require(SIGNATURE_HEADER).lower()
    check_timestamp(delivery.require(TIMESTAMP_HEADER), delivery.received_at)
    if _signed_by_any(delivery.body, signature, secrets):
        return
    # Only when the raw body fails, and only for a body of an event's size (RESERIALIZE_LIMIT).
    if len(delivery.body) > RESERIALIZE_LIMIT:
        raise SignatureError("signature does not match")
    compact = _reserialized(delivery.body)
    if compact is None or compact == delivery.body or not _signed_by_any(compact, signature, secrets):
        raise SignatureError("signature does not match")


def _signed_by_any(content: bytes, signature: str, secrets: Sequence[str]) -> bool:
    # Every secret is compared (no early exit) so the timing does not tell which one matched.
    keys = signing_keys(secrets)
    return any([matches(hmac_sha256(key, content).hex(), signature) for key in keys])  # noqa: C419


def map_event(envelope: Any, connection: Connection, received_at: datetime, channel: Channel) -> NewEvent:
    """Map one Klavi event (a pulled queue item or a pushed body) to the canonical event."""
    body = require_object(envelope, "Klavi event")
    source_event_id = require_str(body, "eventId", "Klavi event")
    kind = optional_str(body, "eventType") or "unknown"
    name = optional_str(body, "eventName")
    given = body.get("payload")
    payload: dict[str, Any] = given if isinstance(given, dict) else {}
    resource_type, id_field = _RESOURCES.get(kind, (kind, "id"))
    resource_id = optional_str(payload, id_field)
    artifacts: list[Artifact] = []
    urls: list[str] = []
    stored = dict(body)
    url = payload.get("presignedUrl")
    if isinstance(url, str) and url:
        urls.append(url)
        artifacts.append(Artifact(name="result", source_url=redact_url(url)))
        stored["payload"] = {**payload, "presignedUrl": redact_url(url)}
    event = CanonicalEvent(
        id=event_id_for(connection.tenant_id, SOURCE, source_event_id),
        tenant_id=connection.tenant_id,
        source=SOURCE,
        source_event_id=source_event_id,
        event_type=f"{kind}.{name}" if name else kind,
        occurred_at=timestamp_or(body.get("eventTime"), received_at),
        received_at=format_timestamp(received_at),
        resource_type=resource_type,
        resource_id=resource_id,
        correlation_id=resource_id,
        actor_type="provider",
        actor_id=connection.id,
        channel=channel,
        payload=stored,
        artifacts=artifacts,
    )
    return NewEvent(event=event, artifact_urls=urls)


def map_webhook(envelope: Any, delivery: Delivery, connection: Connection) -> NewEvent:
    return map_event(envelope, connection, delivery.received_at, Channel.WEBHOOK)


__all__ = ["verify", "map_event", "map_webhook", "SignatureError"]


# The pull queue: each GET hands out one event, once (201: the queue is empty).
PULL_PATH = "/data/analysis/v1/events"
