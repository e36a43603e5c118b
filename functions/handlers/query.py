"""The query API: GET /api/v1/events… over the event store, scoped to the caller's tenant."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

import functools
from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import jsonutil
from functions.adapters import factory
from functions.adapters.counters import CounterStore
from functions.adapters.event_index import EventIndex
from functions.errors import HubError, NotFound, Unauthorized
from functions.handlers.artifact_routes import router as artifact_router
from functions.handlers.console_routes import router as console_router
from functions.handlers.documented import responses as _responses
from functions.handlers.http import error_response
from functions.logic import aggregating, query
from functions.logic.auth import authenticate
from functions.models.api import (
    ActorStats,
    ActorStatsList,
    Aggregate,
    Event,
    EventList,
    KeyCount,
    ResourceType,
    ValidationErrorBody,
    ValidationErrorItem,
)
from functions.observability import logger, metrics, tracer

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
API_TITLE = "Event hub query API"
API_VERSION = "1.0.0"

app = APIGatewayRestResolver(enable_validation=True)
DOCUMENT_PATHS = ("/openapi.json", "/docs")


@functools.cache
def _configure_openapi() -> None:
    """Title, description, security schemes and the Swagger UI route. Done on the first request
    for /openapi.json or /docs: Powertools' OpenAPI models cost ~120 ms to import, and no other
    request needs them."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    app.configure_openapi(
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "The VAI events API surface over every provider's stored events, scoped to the API key's "
            "tenant. Lists are newest first; `total` is exact; `nextCursor` continues a list at any "
            "depth for the cost of one page. `from`/`to` are inclusive ISO 8601 times (UTC if no offset)."
        ),
        security_schemes={
            "apiKey": APIKey(name="X-API-Key", in_=APIKeyIn.header),
            "bearer": HTTPBearer(),
            "cookie": APIKey(name="vai_token", in_=APIKeyIn.cookie),
        },
        security=[{"apiKey": []}, {"bearer": []}, {"cookie": []}],
    )
    app.enable_swagger(path="/docs")  # Swagger UI with its assets inlined: works offline


app.include_router(console_router)  # GET /console: the events console
app.include_router(artifact_router)  # GET /api/v1/events/{event_id}/artifacts[/{n}]

Limit = Annotated[int, Query(ge=1, le=query.MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, description="events to skip")]
Cursor = Annotated[str | None, Query(description="`nextCursor` of the previous page")]
From = Annotated[datetime | None, Query(alias="from", description="inclusive lower bound of occurredAt")]
To = Annotated[datetime | None, Query(description="inclusive upper bound of occurredAt")]
UNROUTABLE = "a path parameter with characters no route accepts (control characters, '/')"


def tenant() -> str:
    return authenticate(app.current_event.headers or {}, factory.hub_config().tenant_for_key_hash())


def _index() -> EventIndex:
    return EventIndex(factory.event_store())


def _counters() -> CounterStore:
    return CounterStore(factory.event_store())


def _utc(moment: datetime | None) -> datetime | None:
    """In UTC; an offset that pushes a moment past year 1 or 9999 is clamped to that end."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else aggregating.LATEST


def _page_of(page: query.EventPage) -> EventList:
    return EventList(
        events=[Event.of(e) for e in page.events],
        has_next=page.has_next,
        limit=page.limit,
        offset=page.offset,
        total=page.total,
        next_cursor=page.next_cursor,
    )


def _range(start: datetime | None, to: datetime | None) -> tuple[datetime | None, datetime | None]:
    start, to = _utc(start), _utc(to)
    query.check_range(start, to)
    return start, (aggregating.later(to, aggregating.MICROSECOND) if to is not None else None)


@app.get("/api/v1/events", summary="List Events", responses=_responses(EventList, "events, newest first"))
@tracer.capture_method
def list_events(
    event_type: Annotated[str | None, Query()] = None,
    resource_type: Annotated[ResourceType | None, Query()] = None,
    resource_id: Annotated[str | None, Query()] = None,
    start: From = None,
    to: To = None,
    limit: Limit = query.MAX_LIMIT,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> EventList:
    tenant_id = tenant()
    index = _index()
    filters = query.ListFilters(
        event_type=event_type,
        resource_type=resource_type.value if resource_type else None,
        resource_id=resource_id,
        start=_utc(start),
        to=_utc(to),
    )
    edges = lambda t, a, b: index.edge_events(t, a, b, actors=False)  # noqa: E731
    page = query.list_events(tenant_id, filters, query.Page(limit, offset, cursor), index, _counters(), edges)
    return _page_of(page)


@app.get(
    "/api/v1/events/aggregate", summary="Aggregate Events", responses=_responses(Aggregate, "exact counts")
)
@tracer.capture_method
def aggregate_events(start: From = None, to: To = None) -> Aggregate:
    tenant_id = tenant()
    begin, end = _range(start, to)
    found = aggregating.aggregate(tenant_id, begin, end, _counters(), _index().edge_events)
    return Aggregate(
        by_actor_type=[KeyCount(key=k, count=n) for k, n in found.by_actor_type],
        by_event_type=[KeyCount(key=k, count=n) for k, n in found.by_event_type],
        by_resource_type=[KeyCount(key=k, count=n) for k, n in found.by_resource_type],
        total=found.total,
    )


@app.get(
    "/api/v1/events/correlation/<correlation_id>",
    summary="List Events By Correlation",
    responses=_responses(EventList, "one flow's events, newest first", not_found=UNROUTABLE),
)
@tracer.capture_method
def list_by_correlation(
    correlation_id: str, limit: Limit = query.MAX_LIMIT, offset: Offset = 0, cursor: Cursor = None
) -> EventList:
    tenant_id = tenant()
    page = query.list_by_correlation(
        tenant_id, correlation_id, query.Page(limit, offset, cursor), _index(), _counters()
    )
    return _page_of(page)


@app.get(
    "/api/v1/events/resource/<resource_type>/<resource_id>",
    summary="List Events By Resource",
    responses=_responses(EventList, "one resource's events, newest first", not_found=UNROUTABLE),
)
@tracer.capture_method
def list_by_resource(
    resource_type: Annotated[ResourceType, Path()],
    resource_id: str,
    limit: Limit = query.MAX_LIMIT,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> EventList:
    tenant_id = tenant()
    page = query.list_by_resource(
        tenant_id, resource_type.value, resource_id, query.Page(limit, offset, cursor), _index(), _counters()
    )
    return _page_of(page)


@app.get(
    "/api/v1/events/stats/by-actor",
    summary="Stats By Actor",
    responses=_responses(ActorStatsList, "events per actor, with successes and failures"),
)
@tracer.capture_method
def stats_by_actor(start: From = None, to: To = None) -> ActorStatsList:
    tenant_id = tenant()
    begin, end = _range(start, to)
    found = aggregating.actor_stats(tenant_id, begin, end, _counters(), _index().edge_events)
    return ActorStatsList(
        actors=[
            ActorStats(
                actor_id=s.actor_id,
                actor_type=s.actor_type,
                failures=s.failures,
                successes=s.successes,
                total=s.total,
            )
            for s in found
        ]
    )


@app.get(
    "/api/v1/events/<event_id>",
    summary="Get Event",
    responses=_responses(Event, "one event", not_found="no such event (or another tenant's)"),
)
@tracer.capture_method
def get_event(event_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> Event:
    found = factory.event_store().get_for_tenant(event_id.lower(), tenant())
    if found is None:
        raise NotFound("event not found")
    return Event.of(found)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


def openapi_json() -> str:
    """The OpenAPI document of this API, generated from the routes and their models."""
    _configure_openapi()
    return app.get_openapi_json_schema()


def _detail(items: list[ValidationErrorItem]) -> Response:
    body = ValidationErrorBody(detail=items).model_dump(mode="json")
    return Response(status_code=422, content_type=content_types.APPLICATION_JSON, body=jsonutil.dumps(body))


@app.exception_handler(query.InvalidQuery)
def _invalid_query(error: query.InvalidQuery) -> Response:
    return _detail([ValidationErrorItem(loc=error.loc, msg=error.message, type=error.kind)])


@app.exception_handler(HubError)
def _hub_error(error: HubError) -> Response:
    return error_response(error)


@app.not_found
def _no_route(_: Exception) -> Response:
    return error_response(NotFound("no such route"))


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response:
    # Authentication comes first: without a valid key the answer is 401, whatever the input.
    try:
        tenant()
    except Unauthorized as unauthorized:
        return error_response(unauthorized)
    return _detail(
        [
            ValidationErrorItem(
                loc=[str(part) if not isinstance(part, int) else part for part in e.get("loc", ())],
                msg=e.get("msg") or e.get("type", "invalid"),
                type=e.get("type", "value_error"),
            )
            for e in error.errors()
        ]
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if str(event.get("path", "")).startswith(DOCUMENT_PATHS):
        _configure_openapi()
    return app.resolve(event, context)
