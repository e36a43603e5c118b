"""The Lambda function URL event (payload format 2.0) for one HTTP request: what the intake's
function URL hands the intake in AWS.

Only fields of AWS's documented request payload ("Invoking Lambda function URLs", Request payload
format; sample: ``events/function_url/aws_docs_request.json``), as an auth type NONE URL fills
them: no ``authorizer``; ``requestContext.accountId`` is ``anonymous``, as Lambda sends it for
NONE. Header names are lower-cased, a repeated header's values joined with commas, and cookies
travel in ``cookies``, not as a header; ``queryStringParameters`` and ``cookies`` are left out when
the request has none, ``body`` when it is empty. There are no path parameters: ``rawPath`` is the
path as sent. ``requestContext.http.sourceIp`` is the TCP peer.

A body travels base64-encoded when its declared content type is not textual (``text/*``, JSON,
XML, JavaScript) or it is not UTF-8, as text otherwise: AWS documents only that the body of a
binary content type is base64-encoded, and the intake decodes either (signatures are checked over
the bytes).
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ACCOUNT_ID = "anonymous"  # requestContext.accountId of a request to an auth type NONE URL
URL_ID = "local"
_TEXT_SUBTYPES = ("json", "xml", "javascript")


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _is_binary(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    if not media:
        return False
    kind, _, subtype = media.partition("/")
    return kind != "text" and not any(subtype == s or subtype.endswith(f"+{s}") for s in _TEXT_SUBTYPES)


def _body_fields(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if not _is_binary(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def function_url_event(
    *,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str = "127.0.0.1",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The function URL event for one request."""
    moment = now or datetime.now(UTC)
    split = urlsplit(raw_path)
    lowered = [(name.lower(), value) for name, value in headers]
    cookies = [c.strip() for n, v in lowered if n == "cookie" for c in v.split(";") if c.strip()]
    header_map = _joined([(n, v) for n, v in lowered if n != "cookie"])
    query = _joined(parse_qsl(split.query, keep_blank_values=True))
    host = header_map.get("host", "127.0.0.1")
    text, is_base64 = _body_fields(body, header_map.get("content-type"))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": split.path or "/",
        "rawQueryString": split.query,
        **({"cookies": cookies} if cookies else {}),
        "headers": header_map,
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": URL_ID,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": split.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": header_map.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(moment.timestamp() * 1000),
        },
        **({"body": text} if text is not None else {}),
        "isBase64Encoded": is_base64,
    }
    return event
