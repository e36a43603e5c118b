"""POST /webhooks/{connectionId}: every push provider through one handler."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.adapters import factory
from functions.errors import HubError
from functions.handlers.http import error_response, raw_body
from functions.logic.intake import receive_webhook
from functions.models.event import utcnow
from functions.observability import logger, metrics, tracer

app = APIGatewayRestResolver()


@app.post("/webhooks/<connection_id>")
@tracer.capture_method
def webhook(connection_id: str) -> Response:
    request = app.current_event
    result = receive_webhook(
        connection_id,
        request.headers or {},
        raw_body(request.raw_event),
        utcnow(),
        config=factory.hub_config(),
        secrets=factory.secret_resolver(),
        store=factory.event_store(),
    )
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=result.model_dump_json())


@app.exception_handler(HubError)
def _hub_error(error: HubError) -> Response:
    return error_response(error)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
