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
from functions.handlers.query.common import UUID_PATTERN, tenant_of
from functions.handlers.query.documented import responses
from functions.logic.downloads import DOWNLOAD_SECONDS, downloadable, tenants_event
from functions.models.api import ArtifactInfo, ArtifactList
from functions.models.event import CanonicalEvent
from functions.observability import tracer

NO_EVENT = "no such event (or another tenant's)"

router = Router()


def _event(event_id: str) -> CanonicalEvent:
    return tenants_event(factory.event_store(), event_id, tenant_of(router.current_event))


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
    artifact = downloadable(_event(event_id), n)
    assert artifact.s3_key is not None  # downloadable: a copied artifact has its key
    url = factory.blob_store().presign_get(artifact.s3_key, DOWNLOAD_SECONDS, download_name=artifact.name)
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")
