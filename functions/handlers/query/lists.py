"""GET /api/v1/events, /correlation/{id} and /resource/{type}/{id}: a tenant's events, newest first."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from functions.handlers.query.common import (
    UNROUTABLE,
    Cursor,
    From,
    Limit,
    Offset,
    To,
    counters,
    event_index,
    event_list,
    tenant_of,
)
from functions.handlers.query.documented import responses
from functions.logic.query.requests import MAX_LIMIT, ListFilters, Page
from functions.models.api import EventList, ResourceType
from functions.observability import tracer

router = Router()


SOURCE = (
    "only events of this provider, as its connection names it (klavi, exa, extend, standard-webhooks, "
    "vai); with from/to only. A filter over the time index: it reads the range's other events too"
)
SOURCE_EVENT_ID = (
    "with source: the one event of this provider id (or none), read by key — the list keeps its shape"
)


@router.get("/api/v1/events", summary="List Events", responses=responses(EventList, "events, newest first"))
@tracer.capture_method
def list_events(
    event_type: Annotated[str | None, Query()] = None,
    resource_type: Annotated[ResourceType | None, Query()] = None,
    resource_id: Annotated[str | None, Query()] = None,
    start: From = None,
    to: To = None,
    limit: Limit = MAX_LIMIT,
    offset: Offset = 0,
    cursor: Cursor = None,
    source: Annotated[str | None, Query(description=SOURCE)] = None,
    source_event_id: Annotated[str | None, Query(description=SOURCE_EVENT_ID)] = None,
) -> EventList:
    from functions.logic.query import lists  # here: only the list routes load the listing logic
    from functions.logic.query.times import to_utc

    tenant_id = tenant_of(router.current_event)
    index = event_index()
    filters = ListFilters(
        event_type=event_type,
        resource_type=resource_type.value if resource_type else None,
        resource_id=resource_id,
        start=to_utc(start),
        to=to_utc(to),
        source=source,
        source_event_id=source_event_id,
    )
    edges = lambda t, a, b: index.edge_events(t, a, b, actors=False)  # noqa: E731
    page = lists.list_events(tenant_id, filters, Page(limit, offset, cursor), index, counters(), edges)
    return event_list(page)


@router.get(
    "/api/v1/events/correlation/<correlation_id>",
    summary="List Events By Correlation",
    responses=responses(EventList, "one flow's events, newest first", not_found=UNROUTABLE),
)
@tracer.capture_method
def list_by_correlation(
    correlation_id: str, limit: Limit = MAX_LIMIT, offset: Offset = 0, cursor: Cursor = None
) -> EventList:
    from functions.logic.query import lists

    tenant_id = tenant_of(router.current_event)
    page = lists.list_by_correlation(
        tenant_id, correlation_id, Page(limit, offset, cursor), event_index(), counters()
    )
    return event_list(page)


@router.get(
    "/api/v1/events/resource/<resource_type>/<resource_id>",
    summary="List Events By Resource",
    responses=responses(EventList, "one resource's events, newest first", not_found=UNROUTABLE),
)
@tracer.capture_method
def list_by_resource(
    resource_type: Annotated[ResourceType, Path()],
    resource_id: str,
    limit: Limit = MAX_LIMIT,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> EventList:
    from functions.logic.query import lists

    tenant_id = tenant_of(router.current_event)
    page = lists.list_by_resource(
        tenant_id, resource_type.value, resource_id, Page(limit, offset, cursor), event_index(), counters()
    )
    return event_list(page)
