"""The events console: GET /console and its assets, served from the ``functions.console`` package.

The page holds no data of its own: it asks for an API key and calls the query API with it. The
assets are imported when first asked for, so a function bundled without them still serves the
API (and answers /console with a 503 that says what is missing).
"""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

import importlib

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

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
PLAIN = "text/plain; charset=utf-8"

router = Router()


def _plain(status: int, text: str) -> Response[str]:
    return Response(
        status_code=status, content_type=PLAIN, body=text, headers={"X-Content-Type-Options": "nosniff"}
    )


def _file(name: str | None) -> Response[str]:
    try:
        console = importlib.import_module("functions.console")
    except ModuleNotFoundError:
        return _plain(
            503, "the console's files (package functions.console) are not installed with this function"
        )
    body = console.asset(name or console.PAGE)
    if body is None:
        return _plain(404, "not found")
    return Response(
        status_code=200,
        content_type=console.CONTENT_TYPES[name or console.PAGE],
        body=body.decode("utf-8"),
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/console", include_in_schema=False)
def console_page() -> Response[str]:
    return _file(None)


@router.get("/console/<name>", include_in_schema=False)
def console_asset(name: str) -> Response[str]:
    return _file(name)
