"""Domain errors to HTTP responses, in one place, for every HTTP handler: the query API's
(API Gateway REST proxy events) and the intake's (its function URL, payload format 2.0)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions import jsonutil
from functions.errors import HubError, MethodNotAllowed

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response


def error_body(error: HubError) -> str:
    return jsonutil.dumps({"error": error.code, "message": error.message})


def error_response(error: HubError) -> Response:
    """The error as a Powertools router response (handlers built on a resolver)."""
    from aws_lambda_powertools.event_handler import Response, content_types

    return Response(
        status_code=error.status_code, content_type=content_types.APPLICATION_JSON, body=error_body(error)
    )


def json_proxy_response(status_code: int, body: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A proxy response (statusCode, headers, body: the shape REST proxy integrations and function
    URLs both take), for a handler with one route and no router (the router package costs a cold
    start more than everything the intake does)."""
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def error_proxy_response(error: HubError) -> dict[str, Any]:
    """The error as a proxy response; a 405 names the methods the path takes (``Allow``)."""
    headers = {"Allow": ", ".join(error.allow)} if isinstance(error, MethodNotAllowed) else None
    return json_proxy_response(error.status_code, error_body(error), headers)


def raw_body(event: dict) -> bytes:
    """The request body exactly as sent: signatures are computed over these bytes."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64

        return base64.b64decode(body)
    return body.encode("utf-8")
