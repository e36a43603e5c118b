"""The generic ``hmac`` provider, configured as GitHub, Shopify and Slack document their
signatures, checked against the example values their own docs publish where they publish some."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.errors import MalformedPayload, SignatureError
from functions.models.config import ConfigError, Connection, parse_config
from functions.models.event import event_id_for
from functions.providers import WEBHOOK_SCHEMES, generic_hmac
from functions.providers.base import Delivery
from tests.conftest import sensitive

# GitHub's docs ("Validating webhook deliveries"): this secret and payload give this signature.
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_PAYLOAD = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
# Slack's docs ("Verifying requests from Slack"): a slash command signed at 1531420618.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SHOPIFY_SECRET = "shpss_test_webhook_secret"
sensitive(GITHUB_SECRET, SLACK_SECRET, SHOPIFY_SECRET)

GITHUB = {
    "signatureHeader": "X-Hub-Signature-256",
    "prefix": "sha256=",
    "encoding": "hex",
    "algorithm": "sha256",
    "signedContent": "{body}",
    "idHeader": "X-GitHub-Delivery",
    "typeHeader": "X-GitHub-Event",
}
GITHUB_LEGACY = {**GITHUB, "signatureHeader": "X-Hub-Signature", "prefix": "sha1=", "algorithm": "sha1"}
SHOPIFY = {
    "signatureHeader": "X-Shopify-Hmac-Sha256",
    "encoding": "base64",
    "algorithm": "sha256",
    "idHeader": "X-Shopify-Webhook-Id",
    "typeHeader": "X-Shopify-Topic",
}
SLACK = {
    "signatureHeader": "X-Slack-Signature",
    "prefix": "v0=",
    "encoding": "hex",
    "signedContent": "v0:{timestamp}:{body}",
    "timestampHeader": "X-Slack-Request-Timestamp",
    "toleranceSeconds": 300,
    "idField": "/event_id",
    "typeField": "/event/type",
}
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def connection(settings: dict[str, Any], *secrets: str, id: str = "sender-acme") -> Connection:
    return Connection.model_validate(
        {"id": id, "provider": "hmac", "tenantId": "acme", "secrets": list(secrets), "hmac": settings}
    )


def delivery(headers: dict[str, str], body: bytes, at: datetime = NOW) -> Delivery:
    return Delivery(headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=at)


def verify(conn: Connection, headers: dict[str, str], body: bytes, at: datetime = NOW) -> None:
    WEBHOOK_SCHEMES[conn.provider].verify(delivery(headers, body, at), [str(s) for s in conn.secrets], conn)


def github_headers(
    body: bytes, secret: str = GITHUB_SECRET, delivery_id: str = "72d3162e-cc78"
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Event": "push",
    }


# -- signatures ----------------------------------------------------------------------------------


def test_githubs_documented_example_verifies() -> None:
    # Given GitHub's documented secret, payload and X-Hub-Signature-256
    conn = connection(GITHUB, GITHUB_SECRET)
    # When it is verified, Then it passes; and under another secret it does not
    verify(conn, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, GITHUB_PAYLOAD)
    with pytest.raises(SignatureError, match="does not match"):
        verify(
            connection(GITHUB, "another secret"), {"X-Hub-Signature-256": GITHUB_SIGNATURE}, GITHUB_PAYLOAD
        )
    # nor with one byte of the payload changed
    with pytest.raises(SignatureError):
        verify(conn, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, b"Hello, World?")


def test_githubs_legacy_sha1_header_verifies_when_configured() -> None:
    # Given GitHub's legacy X-Hub-Signature (HMAC-SHA1, weak) computed as GitHub documents it
    digest = hmac.new(GITHUB_SECRET.encode(), GITHUB_PAYLOAD, hashlib.sha1).hexdigest()
    # When a sha1 connection verifies it, Then it passes; a sha256 connection refuses it
    verify(connection(GITHUB_LEGACY, GITHUB_SECRET), {"X-Hub-Signature": f"sha1={digest}"}, GITHUB_PAYLOAD)
    with pytest.raises(SignatureError):
        verify(connection(GITHUB, GITHUB_SECRET), {"X-Hub-Signature-256": f"sha256={digest}"}, GITHUB_PAYLOAD)


def test_slacks_documented_example_verifies_inside_its_tolerance_only() -> None:
    # Given Slack's documented request: its secret, body, timestamp and X-Slack-Signature
    conn = connection(SLACK, SLACK_SECRET)
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": str(SLACK_TIMESTAMP)}
    signed_at = datetime.fromtimestamp(SLACK_TIMESTAMP, tz=UTC)
    # When it arrives within five minutes of that timestamp, Then it verifies
    verify(conn, headers, SLACK_BODY, signed_at)
    verify(conn, headers, SLACK_BODY, datetime.fromtimestamp(SLACK_TIMESTAMP + 300, tz=UTC))
    # And a replay later than the tolerance is refused, signature and all
    with pytest.raises(SignatureError, match="replay window"):
        verify(conn, headers, SLACK_BODY, datetime.fromtimestamp(SLACK_TIMESTAMP + 301, tz=UTC))
    # And a fresh timestamp on the captured signature does not verify (the timestamp is signed)
    fresh = {**headers, "X-Slack-Request-Timestamp": str(SLACK_TIMESTAMP + 10)}
    with pytest.raises(SignatureError, match="does not match"):
        verify(conn, fresh, SLACK_BODY, signed_at)
    # And without its timestamp header it is refused
    with pytest.raises(SignatureError, match="missing"):
        verify(conn, {"X-Slack-Signature": SLACK_SIGNATURE}, SLACK_BODY, signed_at)


def test_shopify_base64_signature_verifies_as_shopify_documents_it() -> None:
    # Given a body signed as Shopify documents: base64(HMAC-SHA256(secret, raw body)), no prefix
    body = json.dumps({"id": 820982911946154508, "email": "jon@example.com"}).encode()
    signature = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    conn = connection(SHOPIFY, SHOPIFY_SECRET)
    # When it is verified, Then it passes
    verify(conn, {"X-Shopify-Hmac-Sha256": signature}, body)
    # And base64 is compared exactly: the same digest in hex, or with its case changed, fails
    with pytest.raises(SignatureError):
        verify(
            conn,
            {"X-Shopify-Hmac-Sha256": hmac.new(SHOPIFY_SECRET.encode(), body, "sha256").hexdigest()},
            body,
        )
    with pytest.raises(SignatureError):
        verify(conn, {"X-Shopify-Hmac-Sha256": signature.swapcase()}, body)


def test_sha512_and_hex_in_either_case() -> None:
    settings = {**GITHUB, "algorithm": "sha512", "prefix": ""}
    digest = hmac.new(b"k-512", b"{}", hashlib.sha512).hexdigest()
    verify(connection(settings, "k-512"), {"X-Hub-Signature-256": digest.upper()}, b"{}")


def test_any_of_several_secrets_verifies_during_rotation() -> None:
    # Given a connection with the old and the new secret
    conn = connection(GITHUB, "the-new-secret", GITHUB_SECRET)
    # When deliveries signed with either arrive, Then both verify
    verify(conn, github_headers(b"{}", GITHUB_SECRET), b"{}")
    verify(conn, github_headers(b"{}", "the-new-secret"), b"{}")
    # And a blank secret among them never verifies a delivery signed with an empty key
    with pytest.raises(SignatureError):
        generic_hmac.verify(delivery(github_headers(b"{}", ""), b"{}"), [" "], conn)


def test_a_missing_or_unprefixed_signature_is_refused() -> None:
    conn = connection(GITHUB, GITHUB_SECRET)
    with pytest.raises(SignatureError, match="missing x-hub-signature-256"):
        verify(conn, {}, GITHUB_PAYLOAD)
    with pytest.raises(SignatureError, match="does not start with"):
        verify(conn, {"X-Hub-Signature-256": GITHUB_SIGNATURE.removeprefix("sha256=")}, GITHUB_PAYLOAD)


# -- the event -------------------------------------------------------------------------------------


def test_github_delivery_maps_to_an_event_of_its_connection() -> None:
    # Given a GitHub push delivery on connection github-acme
    conn = connection(GITHUB, GITHUB_SECRET, id="github-acme")
    body = json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/app"}}).encode()
    headers = github_headers(body, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    # When it is mapped
    event = WEBHOOK_SCHEMES[conn.provider].map(json.loads(body), delivery(headers, body), conn).event
    # Then its source is the connection, its provider id the delivery id, its type the event header
    assert (event.source, event.source_event_id, event.event_type) == (
        "github-acme",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "push",
    )
    assert event.id == event_id_for("acme", "github-acme", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert event.channel == "webhook" and event.payload["repository"]["full_name"] == "acme/app"
    assert event.occurred_at == event.received_at  # GitHub sends no time header: received


def test_slack_event_id_and_type_come_from_json_pointers_and_its_time_from_the_timestamp() -> None:
    conn = connection(SLACK, SLACK_SECRET, id="slack-acme")
    envelope = {"event_id": "Ev08MFMKH6", "event": {"type": "app_mention", "text": "hi"}}
    headers = {"X-Slack-Request-Timestamp": str(SLACK_TIMESTAMP)}
    event = generic_hmac.map_webhook(envelope, delivery(headers, b""), conn).event
    assert (event.source_event_id, event.event_type) == ("Ev08MFMKH6", "app_mention")
    assert event.occurred_at.startswith("2018-07-12T18:36:58")


def test_a_delivery_without_an_event_id_is_refused_not_stored_under_a_made_up_one() -> None:
    # Given Slack's connection (id at /event_id) and a body that has none
    conn = connection(SLACK, SLACK_SECRET)
    # When it is mapped, Then it is a 400 saying there is no idempotency key
    with pytest.raises(MalformedPayload, match="no idempotency key") as refused:
        generic_hmac.map_webhook({"event": {"type": "app_mention"}}, delivery({}, b""), conn)
    assert refused.value.status_code == 400 and refused.value.code == "no_idempotency_key"
    # And an id that is an object, or an empty header, is no id either
    with pytest.raises(MalformedPayload):
        generic_hmac.map_webhook({"event_id": {"nested": 1}}, delivery({}, b""), conn)
    with pytest.raises(MalformedPayload):
        generic_hmac.map_webhook({}, delivery({"X-GitHub-Delivery": ""}, b""), connection(GITHUB, "k"))


def test_json_pointers_follow_rfc_6901() -> None:
    document = {"a/b": {"m~n": ["zero", "one"]}, "n": 42}
    assert generic_hmac.resolve_pointer(document, "/a~1b/m~0n/1") == "one"
    assert generic_hmac.resolve_pointer(document, "/a~1b/m~0n/7") is None
    assert generic_hmac.resolve_pointer(document, "/n/x") is None
    assert generic_hmac.resolve_pointer(document, "/n") == 42


def test_the_header_wins_over_the_field_when_both_are_named() -> None:
    conn = connection({**GITHUB, "idField": "/id"}, GITHUB_SECRET)
    event = generic_hmac.map_webhook(
        {"id": "from-body"}, delivery({"X-GitHub-Delivery": "from-header"}, b""), conn
    )
    assert event.event.source_event_id == "from-header"
    fallback = generic_hmac.map_webhook({"id": 7}, delivery({}, b""), conn)
    assert fallback.event.source_event_id == "7"


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"idHeader": None}, "name where the event id is"),
        ({"signedContent": "{body}.{nonce}"}, "only the placeholders"),
        ({"signedContent": "{timestamp}.{body}"}, "name its timestampHeader"),
        ({"signedContent": "v0"}, "{body} exactly once"),
        ({"encoding": "base32"}, "'hex' or 'base64'"),
        ({"algorithm": "md5"}, "'sha256', 'sha512' or 'sha1'"),
        ({"signatureHeader": "X Signature"}, "HTTP header name"),
        ({"idField": "id"}, "JSON pointer"),
        ({"toleranceSeconds": 0}, "greater than or equal to 1"),
    ],
    ids=["no-id", "unknown-placeholder", "timestamp-without-header", "no-body", "encoding", "algorithm",
         "header-name", "pointer", "tolerance"],
)  # fmt: skip
def test_bad_hmac_settings_name_the_problem(change: dict[str, Any], message: str) -> None:
    settings = {k: v for k, v in {**GITHUB, **change}.items() if v is not None}
    text = json.dumps(
        {
            "connections": [
                {"id": "gh", "provider": "hmac", "tenantId": "t", "secrets": ["s1"], "hmac": settings}
            ]
        }
    )
    with pytest.raises(ConfigError, match="hmac") as refused:
        parse_config(text)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("connection_fields", "message"),
    [
        ({"provider": "hmac", "secrets": ["s1"]}, "'hmac' block goes with provider hmac"),
        ({"provider": "extend", "secrets": ["s1"], "hmac": GITHUB}, "'hmac' block goes with provider hmac"),
        ({"provider": "hmac", "hmac": GITHUB}, "needs 'secrets'"),
    ],
    ids=["hmac-without-block", "block-on-extend", "no-secrets"],
)
def test_the_hmac_block_goes_with_provider_hmac_only(connection_fields: dict[str, Any], message: str) -> None:
    text = json.dumps({"connections": [{"id": "c1", "tenantId": "t", **connection_fields}]})
    with pytest.raises(ConfigError, match=message):
        parse_config(text)
