"""A blank secret read from Secrets Manager fails closed: it verifies nothing, with a metric and
a log line naming the connection; the connection's other secrets still work (rotation)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime

import pytest

from functions.adapters.event_store import EventStore
from functions.adapters.secrets import SecretResolver
from functions.errors import SecretsUnavailable, SignatureError
from functions.logic.intake import receive_webhook
from functions.models.config import HubConfig
from functions.observability import metrics
from tests.conftest import sensitive

GOOD_SECRET = "wss_the_signing_secret_that_works"
sensitive(GOOD_SECRET)
MANAGER = {"eventhub/blank": " ", "eventhub/empty": "", "eventhub/good": GOOD_SECRET}


def config_with(*names: str) -> HubConfig:
    secrets = [{"secretsManager": name} for name in names]
    connection = {"id": "extend-aws", "provider": "extend", "tenantId": "acme", "secrets": secrets}
    return HubConfig.model_validate({"connections": [connection]})


def signed(event_id: str, key: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"eventId": event_id, "eventType": "extract_run.processed", "payload": {}}).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(key.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-extend-request-timestamp": stamp, "x-extend-request-signature": digest}, body


def receive(config: HubConfig, store: EventStore, headers: dict[str, str], body: bytes) -> object:
    resolver = SecretResolver(fetch=MANAGER.__getitem__)
    now = datetime.now(UTC)
    return receive_webhook("extend-aws", headers, body, now, config=config, secrets=resolver, store=store)


@pytest.mark.parametrize("name", ["eventhub/blank", "eventhub/empty"], ids=["whitespace", "empty"])
def test_blank_secret_from_the_manager_verifies_nothing_and_is_reported(
    store: EventStore, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    # Given a connection whose only secret, in Secrets Manager, is blank
    config = config_with(name)
    metrics.clear_metrics()
    # When a delivery signed with that blank key arrives (anybody can compute its HMAC)
    headers, body = signed("evt_forged", MANAGER[name])
    with caplog.at_level(logging.ERROR), pytest.raises(SecretsUnavailable) as raised:
        receive(config, store, headers, body)
    # Then it fails closed as a server fault, nothing is stored, and the metric and a log line
    # naming the connection say why
    assert raised.value.status_code == 503
    assert store.ddb.scan(TableName=store.table)["Count"] == 0
    assert metrics.metric_set["SecretBlank"]["Value"] == [1.0]
    assert any(getattr(r, "connection", None) == "extend-aws" for r in caplog.records if "blank" in r.message)
    metrics.clear_metrics()


def test_blank_secret_beside_a_good_one_is_set_aside_and_the_good_one_verifies(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a connection with a blank secret and a good one
    config = config_with("eventhub/blank", "eventhub/good")
    metrics.clear_metrics()
    # When a delivery signed with the blank key and one signed with the good key arrive
    forged_headers, forged_body = signed("evt_forged", " ")
    with caplog.at_level(logging.ERROR), pytest.raises(SignatureError):
        receive(config, store, forged_headers, forged_body)
    headers, body = signed("evt_real", GOOD_SECRET)
    result = receive(config, store, headers, body)
    # Then only the good one is stored, and the blank secret is reported on each delivery
    assert not result.duplicate and store.get(result.id) is not None
    assert store.ddb.scan(TableName=store.table)["Count"] == 1
    assert metrics.metric_set["SecretBlank"]["Value"] == [1.0, 1.0]
    assert [r.connection for r in caplog.records if "blank" in r.message] == ["extend-aws", "extend-aws"]
    metrics.clear_metrics()
