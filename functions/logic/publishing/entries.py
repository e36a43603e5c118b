"""Stream records -> bus entries: each new event once, and each result file when its copy ends.

An event's entry is ``Source`` ``eventhub.<source>``, ``DetailType`` its event type, ``Detail``
the event as the query API serves it. A payload that would take the entry past EventBridge's
256 KB, or that the store keeps in S3, is replaced by a pointer to the API path that serves it,
never cut. When an event's last pending copy ends (``pendingArtifacts`` back to 0), each result
file gets an ``eventhub.artifact`` entry (``artifact.copied``, ``.expired``, ``.failed``,
``.refused``) with its S3 location, size and sha256.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from functions import jsonutil
from functions.models.api import Event
from functions.models.event import ArtifactStatus, CanonicalEvent
from functions.models.items import from_item, is_event_item
from functions.models.publishing import ARTIFACT_SOURCE, MAX_ENTRY_BYTES, BusEntry

DONE = (ArtifactStatus.COPIED, ArtifactStatus.EXPIRED, ArtifactStatus.FAILED, ArtifactStatus.REFUSED)
_IN_S3 = object()


def _payload_or_marker(item: Mapping[str, Any]) -> Any:
    if "payloadRef" in item:
        return _IN_S3
    return jsonutil.loads(item.get("payload", {}).get("S") or "{}")


def payload_pointer(event_id: str) -> dict[str, str]:
    return {"payloadRef": f"/api/v1/events/{event_id}"}


def event_entry(sequence: str, event: CanonicalEvent) -> BusEntry:
    served = Event.of(event.model_copy(update={"payload": {}})).model_dump(by_alias=True, mode="json")
    source, detail_type = f"eventhub.{event.source}", event.event_type
    if event.payload is not _IN_S3:
        entry = BusEntry(sequence, source, detail_type, jsonutil.dumps({**served, "payload": event.payload}))
        if entry.size <= MAX_ENTRY_BYTES:
            return entry
    pointer = {**served, "payload": None, **payload_pointer(event.id)}
    return BusEntry(sequence, source, detail_type, jsonutil.dumps(pointer))


def artifact_entries(sequence: str, event: CanonicalEvent, bucket: str) -> Iterator[BusEntry]:
    for index, artifact in enumerate(event.artifacts):
        if artifact.status not in DONE:
            continue
        detail = {
            "eventId": event.id,
            "tenantId": event.tenant_id,
            "source": event.source,
            "eventType": event.event_type,
            "index": index,
            "name": artifact.name,
            "status": artifact.status.value,
            "reason": artifact.reason,
            "bucket": bucket if artifact.s3_key else None,
            "key": artifact.s3_key,
            "size": artifact.size,
            "sha256": artifact.sha256,
            "contentType": artifact.content_type,
        }
        yield BusEntry(sequence, ARTIFACT_SOURCE, f"artifact.{artifact.status.value}", jsonutil.dumps(detail))


def entries_of(record: Mapping[str, Any], bucket: str) -> list[BusEntry]:
    """The entries one stream record gives (none for anything but an event's insert or the
    modify that ends its copies)."""
    dynamodb = record.get("dynamodb") or {}
    image = dynamodb.get("NewImage") or {}
    sequence = str(dynamodb.get("SequenceNumber", ""))
    if not is_event_item(image):
        return []
    event = from_item(dict(image), _payload_or_marker)
    if record.get("eventName") == "INSERT":
        return [event_entry(sequence, event)]
    if record.get("eventName") == "MODIFY" and image.get("pendingArtifacts", {}).get("N") == "0":
        return list(artifact_entries(sequence, event, bucket))
    return []
