"""The event a route's integration hands its function for one HTTP request, and its size as the
invocation counts it.

A query route is a REST API resource: its event is the API Gateway REST (v1) proxy event (resource,
path, pathParameters, query strings and headers with their multi-value forms, body, base64 flag,
requestContext). The webhook route stands for the intake's function URL: its event is the function
URL's payload format 2.0 (``function_url_events``)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from eventhub.local.function_url_events import function_url_event
from eventhub.local.lambda_runtime import ACCOUNT_ID

if TYPE_CHECKING:
    from eventhub.local.routes import Route

STAGE = "local"


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _body_fields(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def proxy_event(
    *,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: dict[str, str],
    source_ip: str = "127.0.0.1",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The event ``route``'s integration hands its function: a function URL event for the webhook
    route, a REST proxy event for the others."""
    if route.integration == "function-url":
        return function_url_event(
            method=method, raw_path=raw_path, headers=headers, body=body, source_ip=source_ip, now=now
        )
    return rest_proxy_event(
        method=method,
        raw_path=raw_path,
        headers=headers,
        body=body,
        route=route,
        path_parameters=path_parameters,
        source_ip=source_ip,
        now=now,
    )


def rest_proxy_event(
    *,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: dict[str, str],
    source_ip: str = "127.0.0.1",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The API Gateway REST proxy event for one request."""
    moment = now or datetime.now(UTC)
    split = urlsplit(raw_path)
    path = unquote(split.path)
    query, multi_query = _multi(parse_qsl(split.query, keep_blank_values=True))
    header_map, multi_headers = _multi(headers)
    header_map = header_map or {}
    lowered = {name.lower(): value for name, value in header_map.items()}
    text, is_base64 = _body_fields(body)
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": header_map,
        "multiValueHeaders": multi_headers or {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": lowered.get("host", "127.0.0.1").split(".")[0],
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "apiKey": None,
                "apiKeyId": None,
                "caller": None,
                "clientCert": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": lowered.get("user-agent"),
                "userArn": None,
            },
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(moment.timestamp() * 1000),
            "resourceId": "local",
            "resourcePath": route.resource,
            "stage": STAGE,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def event_size(event: dict[str, Any]) -> int:
    return len(json.dumps(event, separators=(",", ":")).encode("utf-8"))
