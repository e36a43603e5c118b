"""POST /webhooks/{connectionId}: every push provider through one handler.

One route, so no router: API Gateway sends only this method and path here, and the intake's
cold start stays close to a bare boto3 write (see the README's Performance section).
"""

from __future__ import annotations

from typing import Any

from functions.adapters import factory
from functions.errors import HubError
from functions.handlers.http import error_body, json_proxy_response, raw_body
from functions.logic.intake import receive_webhook
from functions.models.event import utcnow
from functions.observability import logger, metrics, tracer


@tracer.capture_method
def webhook(event: dict[str, Any]) -> dict[str, Any]:
    connection_id = (event.get("pathParameters") or {}).get("connectionId") or ""
    # The TCP peer API Gateway saw (a REST proxy event's requestContext.identity.sourceIp).
    source_ip = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    try:
        result = receive_webhook(
            connection_id,
            event.get("headers") or {},
            raw_body(event),
            utcnow(),
            config=factory.registry(),
            secrets=factory.secret_resolver(),
            store=factory.event_store(),
            source_ip=source_ip,
        )
    except HubError as error:
        return json_proxy_response(error.status_code, error_body(error))
    return json_proxy_response(200, result.model_dump_json())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return webhook(event)
