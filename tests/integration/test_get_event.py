"""GET /api/v1/events/{event_id}: API keys, tenant isolation, and the error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.handlers import query
from tests.conftest import EVENTS_DIR
from tests.integration.test_intake import ACME_KEY, BY_NAME, GLOBEX_KEY, api_event, deliver, read_event


@pytest.fixture
def acme_event(lambda_env: dict[str, Any], lambda_context: Any) -> str:
    """An event of tenant acme, delivered by Exa."""
    provider = BY_NAME["exa"]
    body = provider.body()
    status, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)
    assert status == 200
    return answer["id"]


def test_owner_reads_its_event_with_x_api_key_or_bearer(acme_event: str, lambda_context: Any) -> None:
    by_header = read_event(acme_event, ACME_KEY, lambda_context)
    by_bearer = read_event(acme_event, ACME_KEY, lambda_context, scheme="Bearer")

    assert by_header[0] == by_bearer[0] == 200
    assert by_header[1] == by_bearer[1]
    assert by_header[1]["tenantId"] == "acme"
    assert by_header[1]["payload"] == json.loads(BY_NAME["exa"].body())


def test_another_tenants_event_is_404_not_403(acme_event: str, lambda_context: Any) -> None:
    status, body = read_event(acme_event, GLOBEX_KEY, lambda_context)

    assert status == 404
    assert body["error"] == "not_found"
    assert "acme" not in json.dumps(body)


def test_unknown_event_id_is_404_like_another_tenants(acme_event: str, lambda_context: Any) -> None:
    status, body = read_event("00000000-0000-4000-8000-000000000000", ACME_KEY, lambda_context)

    assert status == 404
    assert body["error"] == "not_found"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "dev-key-nobody-00000"},
        {"Authorization": "Bearer dev-key-nobody-00000"},
        {"Authorization": "Basic abc"},
    ],
    ids=["no-key", "wrong-x-api-key", "wrong-bearer", "not-bearer"],
)
def test_missing_or_wrong_key_is_401_with_a_json_body(
    headers: dict[str, str], acme_event: str, lambda_context: Any
) -> None:
    response = query.handler(api_event("GET", f"/api/v1/events/{acme_event}", headers), lambda_context)

    assert response["statusCode"] == 401
    sent = {**response.get("headers", {}), **response.get("multiValueHeaders", {})}
    assert sent["Content-Type"] in ("application/json", ["application/json"])
    body = json.loads(response["body"])
    assert body["error"] == "unauthorized"
    assert body["message"]
    assert "dev-key" not in response["body"]


def test_an_id_that_is_not_a_uuid_is_422_in_the_detail_shape(acme_event: str, lambda_context: Any) -> None:
    status, body = read_event("not-a-uuid", ACME_KEY, lambda_context)

    assert status == 422
    [problem] = body["detail"]
    assert problem["loc"][-1] == "event_id"
    assert problem["msg"] and problem["type"]


def test_the_sample_get_event_reads_the_event_of_the_sample_webhook(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    provider = BY_NAME["extend"]
    body = provider.body()
    _, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)
    sample = json.loads((EVENTS_DIR / "apigw" / "get_event.json").read_text())

    response = query.handler(sample, lambda_context)

    assert sample["pathParameters"]["proxy"].endswith(answer["id"])
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["payload"] == json.loads(body)["payload"]
