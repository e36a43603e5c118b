"""GET /api/v1/events/{event_id}: one event of the caller's tenant."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.adapters import factory
from functions.errors import NotFound
from functions.handlers.query.common import UUID_PATTERN, tenant_of
from functions.handlers.query.documented import responses
from functions.models.api import Event
from functions.observability import tracer

router = Router()


@router.get(
    "/api/v1/events/<event_id>",
    summary="Get Event",
    responses=responses(Event, "one event", not_found="no such event (or another tenant's)"),
)
@tracer.capture_method
def get_event(event_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> Event:
    found = factory.event_store().get_for_tenant(event_id.lower(), tenant_of(router.current_event))
    if found is None:
        raise NotFound("event not found")
    return Event.of(found)
