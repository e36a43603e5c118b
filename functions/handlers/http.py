"""Domain errors to HTTP responses, in one place, for every API Gateway handler."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types

from functions import jsonutil
from functions.errors import HubError


def error_response(error: HubError) -> Response:
    return Response(
        status_code=error.status_code,
        content_type=content_types.APPLICATION_JSON,
        body=jsonutil.dumps({"error": error.code, "message": error.message}),
    )


def raw_body(event: dict) -> bytes:
    """The request body exactly as sent: signatures are computed over these bytes."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64

        return base64.b64decode(body)
    return body.encode("utf-8")
