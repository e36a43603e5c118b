"""Webhook intake end to end, in-process: the intake's function URL events (payload format 2.0,
as the local gateway builds them) into the real handler, moto behind the event store, and every
delivery read back through GET /api/v1/events/{id} (a REST proxy event into the query handler)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from extend_ai.wrapper.webhooks import Webhooks as ExtendWebhooks
from standardwebhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook

from eventhub.local.faults import StoreFaults
from eventhub.local.function_url_events import function_url_event
from eventhub.local.proxy_events import proxy_event
from eventhub.local.routes import ROUTES, find_route
from eventhub.local.signing import sign
from functions.adapters import factory
from functions.handlers import intake, query
from tests.conftest import EVENTS_DIR

SAMPLES = EVENTS_DIR / "webhooks"
ACME_KEY = "dev-key-acme-000000"
GLOBEX_KEY = "dev-key-globex-00000"


class Provider:
    """One push provider of config/local.json: its connection, secret, sample and signer."""

    def __init__(
        self, name: str, connection: str, secret: str, sample: str, event_type: str, key: str
    ) -> None:
        self.name = name
        self.connection = connection
        self.secret = secret
        self.sample = SAMPLES / sample
        self.event_type = event_type
        self.api_key = key

    def body(self) -> bytes:
        return self.sample.read_bytes()

    def headers(
        self, body: bytes, *, secret: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """Signed as the provider signs: with its own library where one exists."""
        secret = secret or self.secret
        stamp = int(time.time()) if timestamp is None else timestamp
        if self.name == "standard-webhooks":
            message_id = "msg_" + self.sample.stem
            signature = StandardWebhook(secret).sign(
                message_id, datetime.fromtimestamp(stamp, UTC), body.decode()
            )
            return {
                "Content-Type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": signature,
            }
        return sign(self.name, secret, body, timestamp=stamp)

    def __repr__(self) -> str:
        return self.name


PROVIDERS = [
    Provider(
        "extend",
        "extend-dev",
        "wss_dev_extend_signing_secret",
        "extend/classify_run.processed.json",
        "classify_run.processed",
        ACME_KEY,
    ),
    Provider(
        "exa", "exa-dev", "exa_dev_webhook_secret", "exa/webset.created.json", "webset.created", ACME_KEY
    ),
    Provider(
        "klavi",
        "klavi-push",
        "klavi-dev-secret-key",
        "klavi/analysis_finished.json",
        "analysis.analysis_finished",
        ACME_KEY,
    ),
    Provider(
        "standard-webhooks",
        "svix-dev",
        "whsec_ZGV2LW9ubHktc3RhbmRhcmQtd2ViaG9va3Mta2V5ISE=",
        "standard-webhooks/invoice.paid.json",
        "invoice.paid",
        GLOBEX_KEY,
    ),
]
BY_NAME = {p.name: p for p in PROVIDERS}
SIGNATURE_HEADERS = {
    "extend": "x-extend-request-signature",
    "exa": "Exa-Signature",
    "klavi": "X-Klavi-Signature",
    "standard-webhooks": "webhook-signature",
}


def api_event(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
    found = find_route(ROUTES, path)
    assert found is not None
    route, params = found
    return proxy_event(
        method=method,
        raw_path=path,
        headers=list(headers.items()),
        body=body,
        route=route,
        path_parameters=params,
    )


def deliver(
    connection: str, body: bytes, headers: dict[str, str], context: Any
) -> tuple[int, dict[str, Any]]:
    response = intake.handler(api_event("POST", f"/webhooks/{connection}", headers, body), context)
    return response["statusCode"], json.loads(response["body"])


def read_event(event_id: str, key: str | None, context: Any, scheme: str = "X-API-Key") -> tuple[int, Any]:
    headers: dict[str, str] = {}
    if key is not None:
        headers = {"Authorization": f"Bearer {key}"} if scheme == "Bearer" else {"X-API-Key": key}
    response = query.handler(api_event("GET", f"/api/v1/events/{event_id}", headers), context)
    return response["statusCode"], json.loads(response["body"])


def stored_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return aws["dynamodb"].scan(TableName=aws["table"])["Items"]


def bucket_keys(aws: dict[str, Any], prefix: str = "") -> list[str]:
    listing = aws["s3"].list_objects_v2(Bucket=aws["bucket"], Prefix=prefix)
    return [entry["Key"] for entry in listing.get("Contents", [])]


# -- the signing helpers agree with the providers' own libraries ---------------------------------


def test_extend_signature_of_the_local_signer_passes_extends_own_verifier() -> None:
    # Given the Extend sample signed by the local signer
    body = BY_NAME["extend"].body()
    headers = sign("extend", "wss_dev_extend_signing_secret", body)

    # When Extend's own library verifies it
    # Then it passes with the signing secret, and fails with another
    assert ExtendWebhooks().verify(body.decode(), headers, "wss_dev_extend_signing_secret") is True
    assert ExtendWebhooks().verify(body.decode(), headers, "wss_some_other_secret") is False


def test_standard_webhooks_signature_of_the_local_signer_passes_the_reference_verifier() -> None:
    # Given the standard-webhooks sample signed by the local signer
    provider = BY_NAME["standard-webhooks"]
    body = provider.body()
    headers = sign("standard-webhooks", provider.secret, body)

    # When the reference library verifies it
    # Then it passes
    assert StandardWebhook(provider.secret).verify(body, headers) is not None


# -- per provider: stored, readable, once ---------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_valid_delivery_is_stored_and_readable_by_its_tenant(
    provider: Provider, lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a provider's sample, signed with its connection's secret
    body = provider.body()

    # When it is delivered to the connection's webhook
    status, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)

    # Then it is stored as a new event
    assert status == 200
    assert answer["duplicate"] is False
    # And the connection's tenant reads it back, with its type
    status, event = read_event(answer["id"], provider.api_key, lambda_context)
    assert status == 200
    assert event["id"] == answer["id"]
    assert event["eventType"] == provider.event_type
    assert event["tenantId"] == ("globex" if provider.api_key == GLOBEX_KEY else "acme")
    # And exactly one item is stored
    assert len(stored_items(lambda_env)) == 1


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_duplicate_delivery_is_stored_once_and_left_unchanged(
    provider: Provider, lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a provider's sample delivered once
    body = provider.body()
    _, first = deliver(provider.connection, body, provider.headers(body), lambda_context)
    item_before = stored_items(lambda_env)

    # When it is delivered again, signed later
    status, second = deliver(
        provider.connection, body, provider.headers(body, timestamp=int(time.time()) + 5), lambda_context
    )

    # Then it is answered as a duplicate of the first event
    assert status == 200
    assert second == {"id": first["id"], "duplicate": True}
    # And the stored item is unchanged
    assert stored_items(lambda_env) == item_before


def test_svix_signed_delivery_is_accepted_on_a_standard_webhooks_connection(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given the standard-webhooks sample signed by Svix's library, with svix- headers
    provider = BY_NAME["standard-webhooks"]
    body = provider.body()
    now = datetime.now(UTC)
    signature = SvixWebhook(provider.secret).sign("msg_svix_1", now, body.decode())
    headers = {
        "svix-id": "msg_svix_1",
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
    }

    # When it is delivered to the standard-webhooks connection
    status, answer = deliver(provider.connection, body, headers, lambda_context)

    # Then it is stored as a new event
    assert (status, answer["duplicate"]) == (200, False)


# -- per provider: every kind of bad signature is a 401 and stores nothing -------------------------


def _tampered(provider: Provider) -> tuple[bytes, dict[str, str]]:
    body = provider.body()
    return body.replace(b"20", b"21", 1), provider.headers(body)


def _wrong_secret(provider: Provider) -> tuple[bytes, dict[str, str]]:
    body = provider.body()
    other = (
        "whsec_" + "b3RoZXItc2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ=="
        if provider.name == "standard-webhooks"
        else "x" * 20
    )
    return body, provider.headers(body, secret=other)


def _stale(provider: Provider) -> tuple[bytes, dict[str, str]]:
    body = provider.body()
    return body, provider.headers(body, timestamp=int(time.time()) - 3600)


def _missing_header(provider: Provider) -> tuple[bytes, dict[str, str]]:
    body = provider.body()
    headers = provider.headers(body)
    del headers[SIGNATURE_HEADERS[provider.name]]
    return body, headers


FORGERIES = {
    "tampered body": _tampered,
    "wrong secret": _wrong_secret,
    "stale timestamp": _stale,
    "missing signature header": _missing_header,
}


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_bad_signature_is_401_and_stores_nothing(
    provider: Provider, lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given each kind of forged delivery for a provider
    for forgery, forge in FORGERIES.items():
        body, headers = forge(provider)

        # When it is delivered
        status, answer = deliver(provider.connection, body, headers, lambda_context)

        # Then it is refused as an invalid signature
        assert (status, answer["error"]) == (401, "invalid_signature"), forgery
        # And nothing is stored, neither item nor object
        assert stored_items(lambda_env) == [], forgery
        assert bucket_keys(lambda_env) == [], forgery


# -- what the intake refuses, and what it keeps anyway ---------------------------------------------


def test_unknown_connection_is_404(lambda_env: dict[str, Any], lambda_context: Any) -> None:
    # Given a signed sample
    provider = BY_NAME["extend"]
    body = provider.body()

    # When it is delivered to a connection that does not exist
    status, answer = deliver("no-such-connection", body, provider.headers(body), lambda_context)

    # Then it is not found, naming the connection
    assert status == 404
    assert "no-such-connection" in answer["message"]
    # And nothing is stored
    assert stored_items(lambda_env) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"eventId": "evt_1", "eventType": "x.y",', "not valid JSON"),
        (b'{"eventId": "evt_1", "eventType": "x.y", "payload": NaN}', "NaN is not valid JSON"),
        (b'["not", "an", "object"]', "must be a JSON object"),
        (b'{"eventType": "classify_run.processed", "payload": {}}', "'eventId'"),
        (b'{"eventId": "evt_1", "eventType": "x.y", "payload": {"n": ' + b"7" * 5000 + b"}}", "4,300 digits"),
    ],
    ids=["truncated", "nan", "array", "no-event-id", "5000-digit-number"],
)
def test_malformed_body_is_400_with_a_message_naming_the_problem(
    body: bytes, problem: str, lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a correctly signed delivery whose body the hub cannot take
    provider = BY_NAME["extend"]

    # When it is delivered
    status, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)

    # Then it is a 400 that says what is wrong in the hub's words (no Python hint), storing nothing
    assert status == 400
    assert answer["error"] == "malformed_payload"
    assert problem in answer["message"]
    assert "sys." not in answer["message"] and "set_int_max_str_digits" not in answer["message"]
    assert stored_items(lambda_env) == []


def test_unknown_event_type_is_stored_whole(lambda_env: dict[str, Any], lambda_context: Any) -> None:
    # Given a signed Extend delivery of a type the hub does not know
    provider = BY_NAME["extend"]
    sample = SAMPLES / "extend" / "unknown_type.json"
    body = sample.read_bytes()

    # When it is delivered
    status, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)

    # Then it is stored
    assert status == 200
    # And read back with its type and its whole payload
    _, event = read_event(answer["id"], ACME_KEY, lambda_context)
    assert event["eventType"] == "form_run.reviewed"
    assert event["payload"] == json.loads(body)["payload"]


def _oversized_body(size: int = 520_000) -> bytes:
    document = {
        "type": "report.generated",
        "timestamp": "2025-04-02T10:15:30Z",
        "data": {"object": "report", "id": "rep_big_1"},
        "rows": [],
    }
    rows = [
        {"n": index, "ratio": index / 7, "label": f"línea {index} — ünïcødé ✓", "big": 2**70 + index}
        for index in range(size // 100)
    ]
    document["rows"] = rows
    return json.dumps(document).encode()


def _signed_standard(body: bytes, message_id: str) -> dict[str, str]:
    provider = BY_NAME["standard-webhooks"]
    return sign("standard-webhooks", provider.secret, body, message_id=message_id)


def test_oversized_payload_round_trips_byte_identical(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a standard-webhooks body of more than 350 KB
    body = _oversized_body()
    assert len(body) > 350_000

    # When it is delivered
    status, answer = deliver("svix-dev", body, _signed_standard(body, "msg_big_1"), lambda_context)

    # Then its payload is kept in the bucket behind the item
    assert status == 200
    [item] = stored_items(lambda_env)
    assert "payloadRef" in item and "payload" not in item
    # And read back byte for byte
    status, event = read_event(answer["id"], GLOBEX_KEY, lambda_context)
    assert status == 200
    assert json.dumps(event["payload"]).encode() == body


def test_throttled_table_is_5xx_and_leaves_no_item_and_no_payload_object(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a warm container (the connection already read from the registry) whose event
    # writes are throttled
    body = _oversized_body()
    assert factory.registry().connection("svix-dev") is not None
    dynamodb = factory.client("dynamodb")

    with Stubber(dynamodb) as stub:
        stub.add_client_error(
            "put_item",
            service_error_code="ProvisionedThroughputExceededException",
            service_message="Rate of requests exceeds the allowed throughput",
            http_status_code=400,
        )
        # When it is delivered
        status, answer = deliver("svix-dev", body, _signed_standard(body, "msg_throttled"), lambda_context)
        stub.assert_no_pending_responses()

    # Then it answers 5xx as the store being unavailable
    assert status >= 500
    assert answer["error"] == "store_unavailable"
    # And leaves neither an item nor a payload object behind
    assert stored_items(lambda_env) == []
    assert bucket_keys(lambda_env, "payloads/") == []


def test_injected_store_faults_answer_503_and_the_retry_is_stored(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given an Exa delivery, and the store's fault switch on for every write
    provider = BY_NAME["exa"]
    body = provider.body()
    faults = StoreFaults(1.0)
    faults.install(factory.client("dynamodb"))

    # When it is delivered, then delivered again once the switch is off
    status, _ = deliver(provider.connection, body, provider.headers(body), lambda_context)
    faults.set_rate(0.0)
    retry_status, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)

    # Then the first answers 503, by the one fault injected
    assert status == 503
    assert faults.injected == 1
    # And the retry is stored as a new event, once
    assert (retry_status, answer["duplicate"]) == (200, False)
    assert len(stored_items(lambda_env)) == 1


def test_samples_in_events_are_all_accepted(lambda_env: dict[str, Any], lambda_context: Any) -> None:
    # Given every sample webhook body in events/, signed for its provider's connection
    connections = {
        "extend": "extend-dev",
        "exa": "exa-dev",
        "klavi": "klavi-push",
        "standard-webhooks": "svix-dev",
    }
    samples = sorted(SAMPLES.glob("*/*.json"))
    assert len(samples) >= 6

    # When each is delivered
    statuses = {}
    for sample in samples:
        provider = BY_NAME[sample.parent.name]
        body = sample.read_bytes()
        headers = sign(provider.name, provider.secret, body)
        statuses[Path(sample).relative_to(SAMPLES).as_posix()] = deliver(
            connections[provider.name], body, headers, lambda_context
        )[0]

    # Then every one is accepted
    assert set(statuses.values()) == {200}, statuses
    # And each is stored
    assert len(stored_items(lambda_env)) == len(samples)


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_a_stored_webhook_writes_one_log_line_that_names_the_event(
    provider: Provider, lambda_env: dict[str, Any], lambda_context: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a provider's sample, signed, and metrics on as in Lambda
    body = provider.body()
    capfd.readouterr()
    # When it is delivered
    status, answer = deliver(provider.connection, body, provider.headers(body), lambda_context)
    # Then the invocation wrote one line (CloudWatch bills every line): its metric document,
    # which counts it under its source and says which event it stored
    lines = [line for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert status == 200
    (document,) = (json.loads(line) for line in lines)
    assert document["event_id"] == answer["id"] and document["duplicate"] is False
    assert document["EventsStored"] in (1.0, [1.0]) and document["source"]
    assert ["service", "source", "stack"] in [
        sorted(d) for d in document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    ]


# -- the function URL event --------------------------------------------------------------------------


def test_the_sample_function_url_event_is_verified_stored_and_read_back(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given the sample function URL event of an Extend delivery, signed again now (its own
    # timestamp is past the replay window), with the header names as a sender may case them
    event = json.loads((EVENTS_DIR / "function_url" / "intake_extend.json").read_text())
    assert event["version"] == "2.0" and "pathParameters" not in event
    provider = BY_NAME["extend"]
    fresh = provider.headers(event["body"].encode())
    event["headers"] = {**event["headers"], **{name.upper(): value for name, value in fresh.items()}}
    for name in fresh:
        event["headers"].pop(name.lower(), None)

    # When the intake handles it
    response = intake.handler(event, lambda_context)

    # Then the signature verified and the event is stored, once
    assert response["statusCode"] == 200, response["body"]
    answer = json.loads(response["body"])
    assert answer["duplicate"] is False and len(stored_items(lambda_env)) == 1
    # And the response is a plain proxy response a function URL sends on
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert response["headers"]["Content-Type"] == "application/json"
    # And the connection named in rawPath is the one it came through: its tenant reads it back
    status, stored = read_event(answer["id"], provider.api_key, lambda_context)
    assert (status, stored["source"], stored["tenantId"]) == (200, "extend", "acme")


@pytest.mark.parametrize(
    "path",
    ["/", "/webhooks", "/webhooks/", "/webhooks/extend-dev/", "/webhooks/extend-dev/extra", "/api/v1/events"],
)
def test_a_path_other_than_a_connections_webhook_is_404(
    path: str, lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a signed delivery to a path the function URL passes on but the intake does not serve
    provider = BY_NAME["extend"]
    body = provider.body()

    # When the intake handles it (in AWS every path of the URL's host reaches it)
    event = function_url_event(
        method="POST", raw_path=path, headers=list(provider.headers(body).items()), body=body
    )
    response = intake.handler(event, lambda_context)

    # Then it is not found, saying where webhooks go, and nothing is stored
    assert response["statusCode"] == 404
    answer = json.loads(response["body"])
    assert answer["error"] == "not_found" and "POST /webhooks/{connectionId}" in answer["message"]
    assert stored_items(lambda_env) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_a_method_other_than_post_is_405_naming_post(
    method: str, lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given a signed delivery sent with another method
    provider = BY_NAME["extend"]
    body = provider.body()

    # When the intake handles it
    event = api_event(method, "/webhooks/extend-dev", provider.headers(body), body)
    response = intake.handler(event, lambda_context)

    # Then the method is not allowed, POST is named as the one allowed, and nothing is stored
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"
    assert json.loads(response["body"])["error"] == "method_not_allowed"
    assert stored_items(lambda_env) == []


def test_a_rest_proxy_event_is_not_the_intakes_input(lambda_env: dict[str, Any], lambda_context: Any) -> None:
    # Given a signed delivery in the REST API's proxy event shape (path parameters, no rawPath)
    provider = BY_NAME["extend"]
    body = provider.body()
    event = {
        "resource": "/webhooks/{connectionId}",
        "path": "/webhooks/extend-dev",
        "httpMethod": "POST",
        "pathParameters": {"connectionId": "extend-dev"},
        "headers": provider.headers(body),
        "requestContext": {"identity": {"sourceIp": "127.0.0.1"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }

    # When the intake handles it, then it is refused as a path it does not serve, and nothing is stored
    assert intake.handler(event, lambda_context)["statusCode"] == 404
    assert stored_items(lambda_env) == []
