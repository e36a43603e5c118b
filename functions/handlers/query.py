"""The query API: GET /api/v1/events… over the event store, scoped to the caller's tenant."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.


from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import jsonutil
from functions.adapters import factory
from functions.errors import HubError, NotFound
from functions.handlers.console_routes import router as console_router
from functions.handlers.http import error_response
from functions.logic.auth import authenticate
from functions.models.api import Event
from functions.observability import logger, metrics, tracer

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(console_router)  # GET /console: the events console


def tenant() -> str:
    return authenticate(app.current_event.headers or {}, factory.hub_config().tenant_for_key_hash())


@app.get("/api/v1/events/<event_id>")
@tracer.capture_method
def get_event(event_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> Event:
    found = factory.event_store().get_for_tenant(event_id.lower(), tenant())
    if found is None:
        raise NotFound("event not found")
    return Event.of(found)


@app.exception_handler(HubError)
def _hub_error(error: HubError) -> Response:
    return error_response(error)


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response:
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg") or e.get("type", "invalid"), "type": e.get("type", "")}
        for e in error.errors()
    ]
    return Response(
        status_code=422, content_type=content_types.APPLICATION_JSON, body=jsonutil.dumps({"detail": detail})
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
