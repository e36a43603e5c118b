"""Senders configured, not coded: GitHub, Shopify and Slack deliveries signed as each documents,
and Standard Webhooks v1a (ed25519), received by the local stack over HTTP, stored once each,
and found by the sender's own event id through the query API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import LOCAL_CONFIG, sensitive

API_KEY = "dev-key-acme-000000"  # acme's dev key in config/local.json
GITHUB_SECRET, SHOPIFY_SECRET, SLACK_SECRET = "gh-hook-secret-1", "shpss_hook_secret_1", "slack-signing-1"
sensitive(GITHUB_SECRET, SHOPIFY_SECRET, SLACK_SECRET)


def _connections(public_key: str) -> list[dict[str, Any]]:
    def hmac_connection(id: str, secret: str, settings: dict[str, Any]) -> dict[str, Any]:
        return {"id": id, "provider": "hmac", "tenantId": "acme", "secrets": [secret], "hmac": settings}

    return [
        hmac_connection(
            "github-acme",
            GITHUB_SECRET,
            {"signatureHeader": "X-Hub-Signature-256", "prefix": "sha256=", "encoding": "hex",
             "idHeader": "X-GitHub-Delivery", "typeHeader": "X-GitHub-Event"},
        ),
        hmac_connection(
            "shopify-acme",
            SHOPIFY_SECRET,
            {"signatureHeader": "X-Shopify-Hmac-Sha256", "encoding": "base64",
             "idHeader": "X-Shopify-Webhook-Id", "typeHeader": "X-Shopify-Topic"},
        ),
        hmac_connection(
            "slack-acme",
            SLACK_SECRET,
            {"signatureHeader": "X-Slack-Signature", "prefix": "v0=",
             "signedContent": "v0:{timestamp}:{body}", "timestampHeader": "X-Slack-Request-Timestamp",
             "idField": "/event_id", "typeField": "/event/type"},
        ),
        {"id": "sw-ed25519", "provider": "standard-webhooks", "tenantId": "acme", "publicKeys": [public_key]},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def signer() -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def stack(signer: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from eventhub.local.stack import LocalStack

    public = "whpk_" + base64.b64encode(signer.public_key().public_bytes_raw()).decode()
    config = json.loads(LOCAL_CONFIG.read_text())
    config["connections"] += _connections(public)
    path: Path = tmp_path_factory.mktemp("senders") / "config.json"
    path.write_text(json.dumps(config))
    with LocalStack(path) as running:
        yield running


def post(stack: Any, connection: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{stack.url}/webhooks/{connection}", data=body, headers=headers, timeout=30)


def github(body: bytes, delivery: str, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": "push",
    }


def shopify(body: bytes, webhook_id: str) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Topic": "orders/create",
    }


def slack(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp or int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": stamp}


def lookup(stack: Any, source: str, source_event_id: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{stack.url}/api/v1/events",
        params={"source": source, "source_event_id": source_event_id},
        headers={"X-API-Key": API_KEY},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]


def test_each_configured_sender_is_stored_once_and_found_by_its_own_id(stack: Any) -> None:
    # Given a GitHub push, a Shopify order and a Slack event, each signed as its sender signs
    push = json.dumps(
        {"ref": "refs/heads/main", "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}
    ).encode()
    order = json.dumps({"id": 820982911946154508, "total_price": "10.00"}).encode()
    mention = json.dumps({"event_id": "Ev0PV52K21", "event": {"type": "app_mention", "text": "hi"}}).encode()
    delivery, webhook = "72d3162e-cc78-11e3-81ab-4c9367dc0958", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    deliveries = [
        ("github-acme", push, github(push, delivery), delivery, "push"),
        ("shopify-acme", order, shopify(order, webhook), webhook, "orders/create"),
        ("slack-acme", mention, slack(mention), "Ev0PV52K21", "app_mention"),
    ]
    for connection, body, headers, provider_id, event_type in deliveries:
        # When it is delivered, and delivered again (a sender's retry)
        first = post(stack, connection, body, headers)
        again = post(stack, connection, body, headers)
        # Then it is stored once: the retry is a duplicate of the same event
        assert first.status_code == 200, first.text
        assert first.json()["duplicate"] is False and again.json() == {
            "id": first.json()["id"],
            "duplicate": True,
        }
        # And the query API finds it by the sender's id, with its provenance
        (event,) = lookup(stack, connection, provider_id)
        assert event["id"] == first.json()["id"]
        assert (event["source"], event["sourceEventId"], event["channel"]) == (
            connection,
            provider_id,
            "webhook",
        )
        assert event["eventType"] == event_type


def test_a_bad_signature_or_a_missing_id_is_refused_and_stores_nothing(stack: Any) -> None:
    body = json.dumps({"ref": "refs/heads/dev"}).encode()
    # Given a GitHub delivery signed with another secret, When it arrives, Then 401
    forged = post(stack, "github-acme", body, github(body, "d-forged", secret="not-the-secret"))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_signature"
    # Given a Slack event whose body has no event_id, When it arrives signed, Then 400: no idempotency key
    no_id = json.dumps({"event": {"type": "app_mention"}}).encode()
    refused = post(stack, "slack-acme", no_id, slack(no_id))
    assert refused.status_code == 400, refused.text
    assert (
        refused.json()["error"] == "no_idempotency_key" and "no idempotency key" in refused.json()["message"]
    )
    # Given a Slack delivery replayed ten minutes after it was signed, Then 401
    late = json.dumps({"event_id": "Ev-late", "event": {"type": "message"}}).encode()
    assert post(stack, "slack-acme", late, slack(late, int(time.time()) - 600)).status_code == 401
    # And none of them was stored
    assert lookup(stack, "github-acme", "d-forged") == []
    assert lookup(stack, "slack-acme", "Ev-late") == []


def test_standard_webhooks_v1a_is_verified_with_the_connections_public_key(stack: Any, signer: Any) -> None:
    # Given a Standard Webhooks delivery signed with ed25519 (v1a)
    body = json.dumps(
        {"type": "invoice.paid", "timestamp": "2026-01-15T12:00:00Z", "data": {"id": "in_1"}}
    ).encode()
    stamp = str(int(time.time()))
    signature = base64.b64encode(signer.sign(f"msg_ed_1.{stamp}.".encode() + body)).decode()
    headers = {"webhook-id": "msg_ed_1", "webhook-timestamp": stamp, "webhook-signature": f"v1a,{signature}"}
    # When it arrives on a connection that holds the public key, Then it is stored
    answer = post(stack, "sw-ed25519", body, headers)
    assert answer.status_code == 200, answer.text
    (event,) = lookup(stack, "standard-webhooks", "msg_ed_1")
    assert event["id"] == answer.json()["id"] and event["eventType"] == "invoice.paid"
    # And the same body with the signature of another message id is refused
    forged = {**headers, "webhook-id": "msg_ed_2"}
    assert post(stack, "sw-ed25519", body, forged).status_code == 401


def test_make_send_signs_for_hmac_connections_as_their_settings_describe(stack: Any) -> None:
    from eventhub.local.signing import sign
    from functions.models.config import load_config

    # Given the running stack's configuration, and a body for each hmac connection
    config = load_config(stack.config_path)
    body = json.dumps({"event_id": "Ev-send-1", "event": {"type": "reaction_added"}}).encode()
    for connection_id, secret in (("github-acme", GITHUB_SECRET), ("slack-acme", SLACK_SECRET)):
        connection = config.connection(connection_id)
        assert connection is not None
        # When `make send`'s signer signs it with the connection's first secret and settings
        headers = sign("hmac", secret, body, hmac_settings=connection.hmac)
        # Then the stack verifies and stores it
        answer = post(stack, connection_id, body, headers)
        assert answer.status_code == 200, answer.text
