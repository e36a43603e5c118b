"""Which result files a tenant may read, and which of them can be downloaded."""

from __future__ import annotations

from functions.errors import NotFound
from functions.models.event import Artifact, ArtifactStatus, CanonicalEvent
from functions.ports.events import EventLookup

DOWNLOAD_SECONDS = 300  # how long a presigned GET of our copy stays valid


def tenants_event(events: EventLookup, event_id: str, tenant_id: str) -> CanonicalEvent:
    """The event, if it is this tenant's: another tenant's event does not exist for the caller."""
    event = events.get_without_payload(event_id.lower())
    if event is None or event.tenant_id != tenant_id:
        raise NotFound("event not found")
    return event


def downloadable(event: CanonicalEvent, n: int) -> Artifact:
    """The event's ``n``-th artifact, if we hold a copy of it (only our copy is ever handed out)."""
    if n >= len(event.artifacts):
        raise NotFound(f"event has no artifact {n}")
    artifact = event.artifacts[n]
    if artifact.status is not ArtifactStatus.COPIED or not artifact.s3_key:
        raise NotFound(f"artifact {n} has no copy (status: {artifact.status.value})")
    return artifact
