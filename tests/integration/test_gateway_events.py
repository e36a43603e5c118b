"""The events the local gateway builds read like AWS's to Powertools — REST proxy events for the
query routes, function URL events (payload format 2.0) for webhooks, with only the fields AWS
documents — and proxy responses come back as AWS would send them. No network."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, LambdaFunctionUrlEvent

from eventhub.local.gateway import MAX_EVENT_BYTES, Gateway
from eventhub.local.proxy_events import event_size, proxy_event
from eventhub.local.proxy_responses import from_proxy_response
from eventhub.local.routes import INTAKE_HANDLER, QUERY_HANDLER, ROUTES, find_route
from tests.conftest import EVENTS_DIR

# The field list of AWS's documented function URL request payload (values of this hub's own).
DOCUMENTED = json.loads((EVENTS_DIR / "function_url" / "aws_docs_request.json").read_text())


def build(method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes = b"") -> dict[str, Any]:
    found = find_route(ROUTES, raw_path.split("?")[0])
    assert found is not None
    route, params = found
    return proxy_event(
        method=method, raw_path=raw_path, headers=headers, body=body, route=route, path_parameters=params
    )


def test_a_webhook_delivery_becomes_a_function_url_event() -> None:
    # When the gateway builds the event of a webhook delivery, with mixed-case header names
    headers = [("Content-Type", "application/json"), ("X-Extend-Request-Signature", "abc")]
    event = build("POST", "/webhooks/extend-dev", headers, b"{}")

    # Then Powertools reads it as a function URL event: the path as sent, no path parameters
    parsed = LambdaFunctionUrlEvent(event)
    assert parsed.version == "2.0" and parsed.raw_path == "/webhooks/extend-dev"
    assert parsed.path_parameters == {}
    # And the method and the source address from requestContext.http
    assert parsed.request_context.http.method == "POST"
    assert parsed.request_context.http.source_ip == "127.0.0.1"
    # And header names lower-cased, the body as text, not base64
    assert event["headers"] == {"content-type": "application/json", "x-extend-request-signature": "abc"}
    assert parsed.body == "{}" and parsed.is_base64_encoded is False


def test_the_function_url_event_has_only_the_fields_aws_documents() -> None:
    # When the gateway builds the event of a webhook delivery with a query string, cookies and
    # repeated headers
    event = build(
        "POST",
        "/webhooks/extend-dev?attempt=1&attempt=2",
        [("Content-Type", "application/json"), ("Cookie", "a=1; b=2"), ("Accept", "x"), ("Accept", "y")],
        b"{}",
    )

    # Then it has no field that AWS's documented request payload lacks, at any level
    assert set(event) <= set(DOCUMENTED)
    assert set(event["requestContext"]) <= set(DOCUMENTED["requestContext"])
    assert set(event["requestContext"]["http"]) == set(DOCUMENTED["requestContext"]["http"])
    # And the fields the intake reads have the documented types
    for name in ("version", "routeKey", "rawPath", "rawQueryString", "body"):
        assert type(event[name]) is type(DOCUMENTED[name]), name
    assert type(event["isBase64Encoded"]) is type(DOCUMENTED["isBase64Encoded"])
    for name, value in DOCUMENTED["requestContext"]["http"].items():
        assert type(event["requestContext"]["http"][name]) is type(value), name
    # And repeated values are joined with commas, as in the documented example, cookies apart
    assert event["queryStringParameters"] == {"attempt": "1,2"}
    assert event["headers"]["accept"] == "x,y" and "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    # And it fills what an auth type NONE URL leaves out as absent, never as a made-up value
    assert "authorizer" not in event["requestContext"] and "pathParameters" not in event


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

    # When the gateway builds a webhook's event, and an event read's
    webhook = build("POST", "/webhooks/x", [], raw)
    read = build("GET", "/api/v1/events", [], raw)

    # Then the body travels base64-encoded, byte for byte, in both
    assert LambdaFunctionUrlEvent(webhook).is_base64_encoded is True
    assert APIGatewayProxyEvent(read).is_base64_encoded is True
    assert base64.b64decode(webhook["body"]) == base64.b64decode(read["body"]) == raw


def test_a_binary_content_type_travels_base64_encoded_to_the_intake() -> None:
    # When the gateway builds a webhook's event with a binary content type, and with a JSON one
    binary = build("POST", "/webhooks/x", [("Content-Type", "application/octet-stream")], b"abc")
    text = build("POST", "/webhooks/x", [("Content-Type", "application/cloudevents+json")], b"{}")

    # Then only the binary one is base64-encoded
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"abc"
    assert text["isBase64Encoded"] is False and text["body"] == "{}"


def test_the_sample_event_read_has_the_shape_the_gateway_builds() -> None:
    # Given the sample API Gateway event of an event read
    sample = json.loads((EVENTS_DIR / "apigw" / "get_event.json").read_text())
    # When the gateway builds the proxy event of the same request
    route, params = find_route(ROUTES, sample["path"]) or (None, None)
    assert route is not None
    built = proxy_event(
        method=sample["httpMethod"],
        raw_path=sample["path"],
        headers=list(sample["headers"].items()),
        body=(sample["body"] or "").encode(),
        route=route,
        path_parameters=params,
    )
    # Then it has the sample's fields and request context fields
    assert set(built) == set(sample)
    assert set(built["requestContext"]) == set(sample["requestContext"])
    # And the sample's resource and path parameters
    assert (built["resource"], built["pathParameters"]) == (sample["resource"], sample["pathParameters"])


def test_the_sample_webhook_event_has_the_shape_the_gateway_builds() -> None:
    # Given the sample function URL event of a webhook delivery
    sample = json.loads((EVENTS_DIR / "function_url" / "intake_extend.json").read_text())
    # When the gateway builds the event of the same request
    built = build(
        sample["requestContext"]["http"]["method"],
        sample["rawPath"],
        list(sample["headers"].items()),
        sample["body"].encode(),
    )
    # Then it has the sample's fields, request context and HTTP fields, and the same request
    assert set(built) == set(sample)
    assert set(built["requestContext"]) == set(sample["requestContext"])
    assert built["requestContext"]["http"] == sample["requestContext"]["http"]
    assert (built["rawPath"], built["headers"], built["body"]) == (
        sample["rawPath"],
        sample["headers"],
        sample["body"],
    )
    # And no field the documented payload lacks
    assert set(sample) <= set(DOCUMENTED)
    assert set(sample["requestContext"]) <= set(DOCUMENTED["requestContext"])


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
    # Then every path under /webhooks/ goes to the intake function, through its function URL, by
    # any method (the function URL takes them all; the intake refuses what it does not serve)
    for path in ("/webhooks/klavi-push", "/webhooks/a/b"):
        assert route_of(path) == INTAKE_HANDLER
    webhooks = find_route(ROUTES, "/webhooks/klavi-push")
    assert webhooks is not None and webhooks[0].integration == "function-url" and webhooks[0].methods is None
    # And the API, the OpenAPI document, the docs and the console go to the query function, on
    # the REST API
    for path in ("/api/v1/events/abc", "/openapi.json", "/docs", "/console", "/console/app.js"):
        assert route_of(path) == QUERY_HANDLER
        assert find_route(ROUTES, path)[0].integration == "rest"  # type: ignore[index]
    # And /webhooks itself has no route
    assert find_route(ROUTES, "/webhooks") is None


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
