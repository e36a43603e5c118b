"""allowedSourceIps: a connection that names its sender's addresses answers any other address as
if it did not exist, before the size, the secrets or the signature are looked at."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import pytest

from eventhub.local.proxy_events import proxy_event
from eventhub.local.routes import ROUTES, find_route
from eventhub.local.signing import sign
from functions.adapters import factory
from functions.handlers import intake
from functions.logic.intake import MAX_BODY_BYTES
from functions.models.config import SecretValue, load_config
from tests.conftest import EVENTS_DIR, LOCAL_CONFIG, FakeContext, use_config

KLAVI_SECRET = "klavi-dev-secret-key"
KLAVI_PRODUCTION = "18.230.43.17"  # Klavi's published production egress address
BODY = (EVENTS_DIR / "webhooks" / "klavi" / "analysis_finished.json").read_bytes()


class SecretsSpy:
    """The secret reader, remembering every time it was asked."""

    def __init__(self) -> None:
        self.reads = 0

    def resolve(self, value: SecretValue) -> str:
        self.reads += 1
        assert isinstance(value, str)
        return value

    def resolve_all(self, values: Sequence[SecretValue]) -> list[str]:
        return [self.resolve(value) for value in values]


@pytest.fixture
def secrets(lambda_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> SecretsSpy:
    """config/local.json with klavi-push limited to Klavi's production address and a test network."""
    config = load_config(LOCAL_CONFIG)
    connections = [
        c.model_copy(update={"allowed_source_ips": [KLAVI_PRODUCTION, "2001:db8::/32"]})
        if c.id == "klavi-push"
        else c
        for c in config.connections
    ]
    use_config(lambda_env, config.model_copy(update={"connections": connections}), monkeypatch)
    spy = SecretsSpy()
    monkeypatch.setattr(factory, "secret_resolver", functools.cache(lambda: spy))
    return spy


def deliver(
    source_ip: str, body: bytes = BODY, extra: dict[str, str] | None = None, connection: str = "klavi-push"
) -> tuple[int, dict[str, Any]]:
    path = f"/webhooks/{connection}"
    route, params = find_route(ROUTES, path)  # type: ignore[misc]
    headers = {**sign("klavi", KLAVI_SECRET, body), **(extra or {})}
    event = proxy_event(
        method="POST",
        raw_path=path,
        headers=list(headers.items()),
        body=body,
        route=route,
        path_parameters=params,
        source_ip=source_ip,
    )
    response = intake.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def stored(aws: dict[str, Any]) -> int:
    return aws["dynamodb"].scan(TableName=aws["table"])["Count"]


def test_signed_delivery_from_another_address_is_answered_like_an_unknown_connection(
    secrets: SecretsSpy, lambda_env: dict[str, Any]
) -> None:
    # Given klavi-push limited to Klavi's address, and a captured, correctly signed delivery
    # When it is replayed from another address (with a fresh timestamp: the signature allows it)
    status, answer = deliver("203.0.113.9")

    # Then it is a 404 with the body an unknown connection gets, nothing is stored, and no
    # secret was even read
    assert status == 404
    assert answer == {"error": "unknown_connection", "message": "no webhook connection named 'klavi-push'"}
    assert stored(lambda_env) == 0 and secrets.reads == 0


@pytest.mark.parametrize(
    "source_ip",
    [KLAVI_PRODUCTION, f"::ffff:{KLAVI_PRODUCTION}", "2001:db8:7::1"],
    ids=["v4", "mapped", "v6-net"],
)
def test_signed_delivery_from_an_allowed_address_is_stored(
    secrets: SecretsSpy, lambda_env: dict[str, Any], source_ip: str
) -> None:
    # Given klavi-push limited to Klavi's address and a network
    # When a correctly signed delivery comes from one of them
    status, answer = deliver(source_ip)

    # Then it is verified and stored
    assert status == 200 and answer["duplicate"] is False
    assert stored(lambda_env) == 1 and secrets.reads == 1


def test_forwarded_for_header_does_not_stand_for_the_source(
    secrets: SecretsSpy, lambda_env: dict[str, Any]
) -> None:
    # Given a sender outside the list that claims Klavi's address in X-Forwarded-For
    # When it delivers
    status, _ = deliver("203.0.113.9", extra={"X-Forwarded-For": KLAVI_PRODUCTION})

    # Then only the connection's peer address counts: refused
    assert status == 404 and stored(lambda_env) == 0


def test_source_is_checked_before_the_size_limit(secrets: SecretsSpy, lambda_env: dict[str, Any]) -> None:
    # Given a body over the size limit from an address outside the list
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'

    # When it is delivered, then the answer is the unknown connection's, not a 413
    status, _ = deliver("203.0.113.9", body=body)
    assert status == 404


def test_connection_without_the_setting_admits_any_address(
    secrets: SecretsSpy, lambda_env: dict[str, Any]
) -> None:
    # Given a connection without allowedSourceIps (extend-dev)
    body = (EVENTS_DIR / "webhooks" / "extend" / "classify_run.processed.json").read_bytes()
    path = "/webhooks/extend-dev"
    route, params = find_route(ROUTES, path)  # type: ignore[misc]
    headers = sign("extend", "wss_dev_extend_signing_secret", body)
    event = proxy_event(
        method="POST", raw_path=path, headers=list(headers.items()), body=body, route=route,
        path_parameters=params, source_ip="203.0.113.9",
    )  # fmt: skip

    # When a signed delivery comes from anywhere, then it is stored
    assert intake.handler(event, FakeContext())["statusCode"] == 200


def test_the_address_is_read_from_the_function_url_events_request_context(
    secrets: SecretsSpy, lambda_env: dict[str, Any]
) -> None:
    # Given a signed klavi-push delivery as its function URL hands it on, from an address outside
    # the list, with Klavi's address written where a REST proxy event kept it
    path = "/webhooks/klavi-push"
    route, params = find_route(ROUTES, path)  # type: ignore[misc]
    event = proxy_event(
        method="POST", raw_path=path, headers=list(sign("klavi", KLAVI_SECRET, BODY).items()), body=BODY,
        route=route, path_parameters=params, source_ip="203.0.113.9",
    )  # fmt: skip
    assert event["version"] == "2.0"
    event["requestContext"]["identity"] = {"sourceIp": KLAVI_PRODUCTION}

    # When it is delivered, then it is refused: only requestContext.http.sourceIp counts
    assert intake.handler(event, FakeContext())["statusCode"] == 404
    # And when requestContext.http.sourceIp is Klavi's, it is stored
    event["requestContext"]["http"]["sourceIp"] = KLAVI_PRODUCTION
    assert intake.handler(event, FakeContext())["statusCode"] == 200
    assert stored(lambda_env) == 1
