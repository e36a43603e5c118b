"""Domain errors to HTTP responses, in one place, for every API Gateway handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions import jsonutil
from functions.errors import HubError

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


def json_proxy_response(status_code: int, body: str) -> dict[str, Any]:
    """A REST proxy integration response, for a handler with one route and no router (the
    router package costs a cold start more than everything the intake does)."""
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }


def raw_body(event: dict) -> bytes:
    """The request body exactly as sent: signatures are computed over these bytes."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64

        return base64.b64decode(body)
    return body.encode("utf-8")
