"""The events console: GET /console and its assets, served from the ``eventhub.console`` package.

The page holds no data of its own: it asks for an API key and calls the query API with it.
"""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from eventhub.console import CONTENT_TYPES, PAGE, asset

# Only the console's own files run; provider data is shown as text, never as markup or script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = Router()


def _file(name: str) -> Response[str]:
    body = asset(name)
    if body is None:
        return Response(
            status_code=404,
            content_type="text/plain; charset=utf-8",
            body="not found",
            headers={"X-Content-Type-Options": "nosniff"},
        )
    return Response(
        status_code=200,
        content_type=CONTENT_TYPES[name],
        body=body.decode("utf-8"),
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/console", include_in_schema=False)
def console_page() -> Response[str]:
    return _file(PAGE)


@router.get("/console/<name>", include_in_schema=False)
def console_asset(name: str) -> Response[str]:
    return _file(name)
