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
    # Given an event of acme's
    # When acme reads it with its key as X-API-Key and as a bearer token
    by_header = read_event(acme_event, ACME_KEY, lambda_context)
    by_bearer = read_event(acme_event, ACME_KEY, lambda_context, scheme="Bearer")

    # Then both answer the same event, acme's, with its payload
    assert by_header[0] == by_bearer[0] == 200
    assert by_header[1] == by_bearer[1]
    assert by_header[1]["tenantId"] == "acme"
    assert by_header[1]["payload"] == json.loads(BY_NAME["exa"].body())


def test_another_tenants_event_is_404_not_403(acme_event: str, lambda_context: Any) -> None:
    # Given an event of acme's
    # When globex reads it with its own key
    status, body = read_event(acme_event, GLOBEX_KEY, lambda_context)

    # Then it is not found, as if it did not exist
    assert status == 404
    assert body["error"] == "not_found"
    # And nothing in the answer names acme
    assert "acme" not in json.dumps(body)


def test_unknown_event_id_is_404_like_another_tenants(acme_event: str, lambda_context: Any) -> None:
    # When acme reads an event id nobody has
    status, body = read_event("00000000-0000-4000-8000-000000000000", ACME_KEY, lambda_context)

    # Then it is not found, the same way
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
    # Given an event of acme's
    # When it is read with no key, a wrong key, or a key in the wrong scheme
    response = query.handler(api_event("GET", f"/api/v1/events/{acme_event}", headers), lambda_context)

    # Then it answers 401 in JSON, saying why
    assert response["statusCode"] == 401
    sent = {**response.get("headers", {}), **response.get("multiValueHeaders", {})}
    assert sent["Content-Type"] in ("application/json", ["application/json"])
    body = json.loads(response["body"])
    assert body["error"] == "unauthorized"
    assert body["message"]
    # And the answer does not echo the key
    assert "dev-key" not in response["body"]


def test_an_id_that_is_not_a_uuid_is_422_in_the_detail_shape(acme_event: str, lambda_context: Any) -> None:
    # When an event is read by an id that is not a UUID
    status, body = read_event("not-a-uuid", ACME_KEY, lambda_context)

    # Then it answers 422, the problem located at the event id, with a message and a type
    assert status == 422
    [problem] = body["detail"]
    assert problem["loc"][-1] == "event_id"
    assert problem["msg"] and problem["type"]


def test_the_sample_get_event_reads_the_event_of_the_sample_webhook(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given the sample Extend webhook delivered
    provider = BY_NAME["extend"]
    body = provider.body()
    _, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)
    sample = json.loads((EVENTS_DIR / "apigw" / "get_event.json").read_text())

    # When the query function is invoked with the sample API Gateway event of a read
    response = query.handler(sample, lambda_context)

    # Then it reads that webhook's event, with its payload
    assert sample["pathParameters"]["proxy"].endswith(answer["id"])
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["payload"] == json.loads(body)["payload"]
