"""HTTP responses of the local gateway: a Lambda proxy response decoded as API Gateway sends it
(502 for anything malformed), and the gateway's own JSON answers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(
    status: int, document: dict[str, Any], extra: list[tuple[str, str]] | None = None
) -> HttpResponse:
    body = json.dumps(document).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), *(extra or [])], body)


def from_proxy_response(response: Any) -> HttpResponse:
    """A Lambda proxy response as HTTP; anything malformed is API Gateway's 502."""
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        return json_response(502, {"message": "Internal server error"})
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, value in (response.get("headers") or {}).items():
        merged[name.lower()] = (name, [str(value)])
    for name, values in (response.get("multiValueHeaders") or {}).items():
        merged[name.lower()] = (name, [str(v) for v in values])
    headers = [
        (name, value)
        for key, (name, values) in merged.items()
        if key not in ("content-length", "connection", "transfer-encoding")
        for value in values
    ]
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return HttpResponse(response["statusCode"], headers, data)
