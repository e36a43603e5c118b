"""GET /api/v1/events/{event_id}/artifacts[/{n}]: an event's result files and their downloads.

Tenant-scoped like every read: another tenant's event is a 404. A download is a 302 to a
short-lived presigned GET of our copy, never the provider's URL.
"""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.adapters import factory
from functions.errors import NotFound
from functions.handlers.documented import responses
from functions.logic.auth import authenticate
from functions.models.api import ArtifactInfo, ArtifactList
from functions.models.event import ArtifactStatus, CanonicalEvent
from functions.observability import tracer

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
DOWNLOAD_SECONDS = 300
NO_EVENT = "no such event (or another tenant's)"

router = Router()


def _event(event_id: str) -> CanonicalEvent:
    tenant = authenticate(router.current_event.headers or {}, factory.hub_config().tenant_for_key_hash())
    event = factory.event_store().get_without_payload(event_id.lower())
    if event is None or event.tenant_id != tenant:
        raise NotFound("event not found")
    return event


@router.get(
    "/api/v1/events/<event_id>/artifacts",
    summary="List an event's artifacts",
    responses=responses(ArtifactList, "the event's result files", not_found=NO_EVENT),
)
@tracer.capture_method
def list_artifacts(event_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> ArtifactList:
    event = _event(event_id)
    return ArtifactList(
        event_id=event.id,
        artifacts=[ArtifactInfo.of(event.id, n, artifact) for n, artifact in enumerate(event.artifacts)],
    )


@router.get(
    "/api/v1/events/<event_id>/artifacts/<n>",
    summary="Download an artifact",
    responses=responses(
        None,
        "redirect (Location) to a short-lived presigned GET of our copy",
        status=302,
        not_found="no such event, no such artifact, or no copy of it yet",
    ),
)
@tracer.capture_method
def download_artifact(
    event_id: Annotated[str, Path(pattern=UUID_PATTERN)], n: Annotated[int, Path(ge=0, le=999)]
) -> Response[str]:
    event = _event(event_id)
    if n >= len(event.artifacts):
        raise NotFound(f"event has no artifact {n}")
    artifact = event.artifacts[n]
    if artifact.status is not ArtifactStatus.COPIED or not artifact.s3_key:
        raise NotFound(f"artifact {n} has no copy (status: {artifact.status.value})")
    url = factory.blob_store().presign_get(artifact.s3_key, DOWNLOAD_SECONDS, download_name=artifact.name)
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")
