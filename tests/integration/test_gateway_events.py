"""The proxy events the local gateway builds read like API Gateway's to Powertools, and proxy
responses come back as API Gateway would send them. No network."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from eventhub.local.gateway import MAX_EVENT_BYTES, Gateway
from eventhub.local.proxy_events import event_size, proxy_event
from eventhub.local.proxy_responses import from_proxy_response
from eventhub.local.routes import INTAKE_HANDLER, QUERY_HANDLER, ROUTES, find_route
from tests.conftest import EVENTS_DIR


def build(method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes = b"") -> dict[str, Any]:
    found = find_route(ROUTES, raw_path.split("?")[0])
    assert found is not None
    route, params = found
    return proxy_event(
        method=method, raw_path=raw_path, headers=headers, body=body, route=route, path_parameters=params
    )


def test_webhook_route_names_the_connection_as_a_path_parameter() -> None:
    # When the gateway builds the proxy event of a webhook delivery
    event = build("POST", "/webhooks/extend-dev", [("Content-Type", "application/json")], b"{}")

    # Then Powertools reads the webhook route's resource, with the connection as its path parameter
    parsed = APIGatewayProxyEvent(event)
    assert parsed.resource == "/webhooks/{connectionId}"
    assert parsed.path_parameters == {"connectionId": "extend-dev"}
    # And the method, the body as text, not base64
    assert parsed.http_method == "POST"
    assert parsed.request_context.resource_path == "/webhooks/{connectionId}"
    assert parsed.body == "{}"
    assert parsed.is_base64_encoded is False


def test_repeated_query_parameters_and_headers_keep_every_value() -> None:
    # When the gateway builds the proxy event of a request with repeated query parameters and headers
    event = build(
        "GET",
        "/api/v1/events?event_type=a.b&event_type=c%20d&limit=5&empty=",
        [("X-Api-Key", "k"), ("Accept", "text/html"), ("Accept", "application/json")],
    )

    # Then the single-value maps hold the last value of each
    parsed = APIGatewayProxyEvent(event)
    assert parsed.query_string_parameters == {"event_type": "c d", "limit": "5", "empty": ""}
    # And the multi-value maps hold every value, in order
    assert parsed.multi_value_query_string_parameters["event_type"] == ["a.b", "c d"]
    assert parsed.multi_value_headers["Accept"] == ["text/html", "application/json"]
    assert parsed.headers["Accept"] == "application/json"
    # And the API's path is the proxy path parameter
    assert parsed.path_parameters == {"proxy": "v1/events"}


def test_a_body_that_is_not_utf8_travels_base64_encoded() -> None:
    # Given a body that is not UTF-8
    raw = b"\x00\xff\xfe binary"

    # When the gateway builds its proxy event
    event = build("POST", "/webhooks/x", [], raw)

    # Then the body travels base64-encoded, byte for byte
    assert APIGatewayProxyEvent(event).is_base64_encoded is True
    assert base64.b64decode(event["body"]) == raw


def test_the_sample_api_gateway_events_have_the_shape_the_gateway_builds() -> None:
    # Given the sample API Gateway events of a webhook delivery and of an event read
    for name in ("intake_extend.json", "get_event.json"):
        sample = json.loads((EVENTS_DIR / "apigw" / name).read_text())
        # When the gateway builds the proxy event of the same request
        route, params = find_route(ROUTES, sample["path"]) or (None, None)
        assert route is not None, name
        built = proxy_event(
            method=sample["httpMethod"],
            raw_path=sample["path"],
            headers=list(sample["headers"].items()),
            body=(sample["body"] or "").encode(),
            route=route,
            path_parameters=params,
        )
        # Then it has the sample's fields and request context fields
        assert set(built) == set(sample), name
        assert set(built["requestContext"]) == set(sample["requestContext"]), name
        # And the sample's resource and path parameters
        assert (built["resource"], built["pathParameters"]) == (sample["resource"], sample["pathParameters"])


def test_responses_merge_headers_and_decode_base64_bodies() -> None:
    # When a proxy response with single and multi-value headers and a base64 body is turned into HTTP
    response = from_proxy_response(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "text/plain", "X-One": "1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-One": ["uno"]},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )

    # Then the body is decoded
    assert response.status == 200
    assert response.body == b"\x89PNG"
    # And every value of a multi-value header is sent
    assert ("Set-Cookie", "a=1") in response.headers and ("Set-Cookie", "b=2") in response.headers
    # And a multi-value header replaces the single-value header of the same name
    assert ("X-One", "uno") in response.headers and ("X-One", "1") not in response.headers


def test_a_function_that_raises_or_answers_garbage_is_a_502() -> None:
    # Given a function that raises
    def raising(handler: str, event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    # When the gateway sends it a request, and a proxy response has no status
    raised = Gateway(raising).handle("GET", "/api/v1/events", [], b"", "127.0.0.1")
    garbage = from_proxy_response({"body": "no status"})

    # Then both are a 502
    assert raised.status == garbage.status == 502
    # And the body says only that the server failed
    assert json.loads(raised.body) == {"message": "Internal server error"}


def test_routes_send_webhooks_to_intake_and_the_api_console_and_docs_to_query() -> None:
    def route_of(path: str) -> str:
        found = find_route(ROUTES, path)
        assert found is not None, path
        return found[0].handler

    # When paths are routed
    # Then webhooks go to the intake function
    assert route_of("/webhooks/klavi-push") == INTAKE_HANDLER
    # And the API, the OpenAPI document, the docs and the console go to the query function
    for path in ("/api/v1/events/abc", "/openapi.json", "/docs", "/console", "/console/app.js"):
        assert route_of(path) == QUERY_HANDLER
    # And a webhook path with more than a connection id has no route
    assert find_route(ROUTES, "/webhooks/a/b") is None


def test_event_size_is_the_serialized_size_the_6_mb_limit_applies_to() -> None:
    # Given a gateway that records the events it invokes the function with, and a body a little under 6 MB
    seen: list[dict[str, Any]] = []
    gateway = Gateway(lambda handler, event: seen.append(event) or {"statusCode": 200, "body": ""})
    gateway.ready.set()
    body = b"x" * (MAX_EVENT_BYTES - 4096)

    # When the body is posted once as it is, and once with a large header
    answer = gateway.handle("POST", "/webhooks/a", [("Content-Type", "application/json")], body, "127.0.0.1")
    too_big = gateway.handle("POST", "/webhooks/a", [("X-Pad", "y" * 8192)], body, "127.0.0.1")

    # Then the first is invoked with an event within the limit
    assert answer.status == 200 and event_size(seen[0]) <= MAX_EVENT_BYTES
    # And the second, whose serialized event is over it, is refused with 413 without invoking the function
    assert too_big.status == 413 and len(seen) == 1
