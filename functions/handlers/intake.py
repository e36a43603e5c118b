"""POST /webhooks/{connectionId} on the intake's function URL: every push provider through one handler.

A function URL hands its function every request to its host, whatever the path or method, as a
payload format 2.0 event (``rawPath``, lower-cased ``headers``, ``requestContext.http``); there
are no path parameters. So the handler routes its one path itself: any other path is a 404 and
any other method a 405, before anything is read. No router package: the intake's cold start stays
close to a bare boto3 write (see the README's Performance section).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from functions.adapters import factory
from functions.errors import HubError, MethodNotAllowed, NotFound
from functions.handlers.http import error_proxy_response, json_proxy_response, raw_body
from functions.logic.intake import receive_webhook
from functions.models.event import utcnow
from functions.observability import logger, metrics, tracer

WEBHOOK_PREFIX = "/webhooks/"


def _connection_id(event: dict[str, Any]) -> str:
    """The ``{connectionId}`` of ``POST /webhooks/{connectionId}``; NotFound or MethodNotAllowed."""
    path = str(event.get("rawPath") or "")
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "")
    connection_id = unquote(path.removeprefix(WEBHOOK_PREFIX)) if path.startswith(WEBHOOK_PREFIX) else ""
    if not connection_id or "/" in connection_id:
        raise NotFound(f"no route for {method} {path}: webhooks go to POST {WEBHOOK_PREFIX}{{connectionId}}")
    if method != "POST":
        raise MethodNotAllowed(f"{method} is not allowed on {path}", allow=("POST",))
    return connection_id


@tracer.capture_method
def webhook(event: dict[str, Any]) -> dict[str, Any]:
    try:
        connection_id = _connection_id(event)
        result = receive_webhook(
            connection_id,
            event.get("headers") or {},
            raw_body(event),
            utcnow(),
            config=factory.registry(),
            secrets=factory.secret_resolver(),
            store=factory.event_store(),
            # The peer of the TCP connection the function URL took the request on.
            source_ip=((event.get("requestContext") or {}).get("http") or {}).get("sourceIp"),
        )
    except HubError as error:
        return error_proxy_response(error)
    return json_proxy_response(200, result.model_dump_json())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return webhook(event)
