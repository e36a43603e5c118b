"""The query API: GET /api/v1/events… over the event store, scoped to the caller's tenant.

One resolver; the routes live in modules of their own (``lists``, ``counts``, ``events``,
``artifacts``, ``console``). Domain errors map to HTTP answers here, in one place. Route order
matters: the fixed paths (``/aggregate``, ``/stats/by-actor``) are registered before
``/{event_id}``.
"""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

import functools

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import jsonutil
from functions.errors import HubError, NotFound, Unauthorized
from functions.handlers.http import error_response
from functions.handlers.query import artifacts, console, counts, events, lists
from functions.handlers.query.common import tenant_of
from functions.logic.query.requests import InvalidQuery
from functions.models.api import ValidationErrorBody, ValidationErrorItem
from functions.observability import logger, metrics, tracer

API_TITLE = "Event hub query API"
API_VERSION = "1.0.0"
DOCUMENT_PATHS = ("/openapi.json", "/docs")

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(console.router)  # GET /console: the events console
app.include_router(artifacts.router)  # GET /api/v1/events/{event_id}/artifacts[/{n}]
app.include_router(lists.router)
app.include_router(counts.router)
app.include_router(events.router)  # last: /{event_id} would match the fixed paths' names


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


@app.exception_handler(InvalidQuery)
def _invalid_query(error: InvalidQuery) -> Response:
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
        tenant_of(app.current_event)
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
