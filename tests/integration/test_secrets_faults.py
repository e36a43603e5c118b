"""Secrets Manager briefly unavailable: the cached secret is used; with none cached, a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from functions.adapters.secrets import SecretResolver
from functions.errors import SecretsUnavailable, SignatureError
from functions.logic.intake import receive_webhook
from functions.models.config import HubConfig
from tests.conftest import sensitive

SECRET_NAME = "eventhub/extend-signing"
SECRET_VALUE = "wss_rotating_signing_secret_1"
sensitive(SECRET_VALUE)

CONFIG = HubConfig.model_validate(
    {
        "connections": [
            {
                "id": "extend-aws",
                "provider": "extend",
                "tenantId": "acme",
                "secrets": [{"secretsManager": SECRET_NAME}],
            }
        ]
    }
)


def _signed_delivery(event_id: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"eventId": event_id, "eventType": "extract_run.processed", "payload": {}}).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET_VALUE.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-extend-request-timestamp": stamp, "x-extend-request-signature": digest}, body


class FlakyManager:
    """Secrets Manager as seen through Powertools, with an outage switch."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def __call__(self, name: str) -> str:
        self.calls += 1
        if self.down:
            raise parameters.exceptions.GetParameterError("Secrets Manager unavailable")
        parameters.clear_caches()  # every call reaches the service, so outages are visible
        value = parameters.get_secret(name)
        return value if isinstance(value, str) else value.decode()


@pytest.fixture
def manager(aws) -> FlakyManager:
    boto3.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)
    parameters.clear_caches()
    return FlakyManager()


def test_a_cached_secret_carries_intake_through_an_outage(store, manager) -> None:
    # Given a warm container that has read the secret once
    resolver = SecretResolver(fetch=manager)
    headers, body = _signed_delivery("evt_before")
    now = datetime.now(UTC)
    first = receive_webhook("extend-aws", headers, body, now, config=CONFIG, secrets=resolver, store=store)
    # When Secrets Manager goes down
    manager.down = True
    headers, body = _signed_delivery("evt_during")
    second = receive_webhook("extend-aws", headers, body, now, config=CONFIG, secrets=resolver, store=store)
    # Then the delivery during the outage is verified with the cached secret and stored
    assert manager.calls == 2
    assert not first.duplicate and not second.duplicate
    assert store.get(second.id) is not None


def test_a_cold_start_during_an_outage_is_a_server_fault_not_a_401(store, manager) -> None:
    # Given a cold container and Secrets Manager down
    manager.down = True
    resolver = SecretResolver(fetch=manager)
    headers, body = _signed_delivery("evt_cold")
    # When a correctly signed webhook arrives
    with pytest.raises(SecretsUnavailable) as raised:
        receive_webhook(
            "extend-aws", headers, body, datetime.now(UTC), config=CONFIG, secrets=resolver, store=store
        )
    # Then the sender sees a 5xx (it will retry), never a signature rejection, and nothing is stored
    assert raised.value.status_code == 503
    assert not isinstance(raised.value, SignatureError)
    assert store.ddb.scan(TableName=store.table)["Count"] == 0


def test_the_default_fetch_reads_secrets_manager_through_powertools(aws) -> None:
    # Given a webhook secret in Secrets Manager, and Powertools' caches empty
    boto3.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)
    parameters.clear_caches()
    # When a resolver with the default fetch resolves the connection's secrets
    resolver = SecretResolver()
    # Then it answers the secret's value
    assert resolver.resolve_all(CONFIG.connections[0].secrets) == [SECRET_VALUE]
