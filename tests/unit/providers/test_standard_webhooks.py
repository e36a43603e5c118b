"""Standard Webhooks and Svix senders: the ``standardwebhooks`` and ``svix`` libraries sign and
verify, and are the oracle for our verifier; the mapper keys events on ``webhook-id``."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import svix
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook as StandardWebhook

from functions.errors import SignatureError
from functions.models.config import Connection, Provider
from functions.models.event import event_id_for
from functions.providers import WEBHOOK_SCHEMES, standard_webhooks
from tests.unit.providers import signing as s

ROOT = Path(__file__).resolve().parents[3]

CONNECTION = s.connection(Provider.STANDARD_WEBHOOKS)
ENVELOPE = {
    "type": "invoice.paid",
    "timestamp": "2025-02-26T20:08:00.123456Z",
    "data": {"object": "invoice", "id": "inv_42", "amount": 1200},
}
BODY = s.body_of(ENVELOPE)


def _verify(headers: dict[str, str], body: bytes = BODY, *secrets: str, at: datetime = s.NOW) -> None:
    standard_webhooks.verify(s.delivery(headers, body, at), list(secrets) or [s.SW_SECRET])


# -- signature ---------------------------------------------------------------------------------


def test_svix_signed_delivery_with_svix_headers_verifies() -> None:
    # Given a delivery signed by Svix's library, with svix- headers
    moment = datetime.fromtimestamp(s.NOW_TS, UTC)
    headers = {
        "svix-id": "msg_svix_1",
        "svix-timestamp": str(s.NOW_TS),
        "svix-signature": svix.Webhook(s.SW_SECRET).sign("msg_svix_1", moment, BODY.decode()),
    }
    # When it is verified
    # Then it verifies (verify raises on a mismatch)
    _verify(headers)


def test_the_libraries_accept_what_our_verifier_accepts() -> None:
    # Given a delivery signed now
    stamp = int(time.time())
    headers = s.standard_headers(BODY, timestamp=stamp)
    # When our verifier accepts it
    _verify(headers, at=datetime.now(UTC))
    # Then the standard-webhooks library accepts it too
    assert StandardWebhook(s.SW_SECRET).verify(BODY, headers) == ENVELOPE
    # And Svix's library accepts it under svix- headers
    svix_headers = s.standard_headers(BODY, timestamp=stamp, prefix="svix")
    svix.Webhook(s.SW_SECRET).verify(BODY, svix_headers)  # raises if it disagrees


def test_several_signatures_in_the_header_any_match_verifies() -> None:
    # Given a header with an unknown version's entry, a signature with an old secret, then the right one
    headers = s.standard_headers(BODY)
    good = headers["webhook-signature"]
    other = s.standard_headers(BODY, s.SW_OLD_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"v1a,ignored {other} {good}"
    # When it is verified
    # Then it verifies
    _verify(headers)


def test_signature_binds_the_message_id() -> None:
    # Given a signed delivery whose webhook-id is changed
    headers = s.standard_headers(BODY)
    headers["webhook-id"] = "msg_other"
    # When it is verified
    # Then it is rejected: the id is part of what is signed
    with pytest.raises(SignatureError, match="does not match"):
        _verify(headers)


def test_secret_without_padding_or_prefix_verifies_as_the_libraries_do() -> None:
    # Given a signed delivery
    headers = s.standard_headers(BODY)
    # When it is verified with the secret without its base64 padding, or without its whsec_ prefix
    # Then it verifies
    _verify(headers, BODY, s.SW_SECRET.rstrip("="))
    _verify(headers, BODY, s.SW_SECRET.removeprefix("whsec_"))


def test_a_malformed_secret_does_not_disable_the_other_active_secret() -> None:
    # Given a signed delivery
    headers = s.standard_headers(BODY)
    # When it is verified with a malformed secret alongside the right one
    # Then it verifies
    _verify(headers, BODY, "whsec_%%%not-base64%%%", s.SW_SECRET)


def test_only_malformed_secrets_reject_every_delivery() -> None:
    # When a signed delivery is verified with a malformed secret alone
    # Then it is rejected
    with pytest.raises(SignatureError):
        _verify(s.standard_headers(BODY), BODY, "whsec_%%%not-base64%%%")


# Deliveries near a real one: body, secret, id, timestamp and signature each varied. Offsets stay
# clear of the ±300 s edges, as the library reads the wall clock a moment after we do.
_offsets = st.integers(-700, 700).filter(lambda o: abs(abs(o) - 300) > 3)
OTHER_BODY = b'{"type":"invoice.paid"}'


def _mostly(value: object, *others: object) -> st.SearchStrategy:
    return st.sampled_from([value] * 6 + list(others))


@st.composite
def _candidates(draw: st.DrawFn) -> tuple[bytes, dict[str, str], str]:
    stamp = int(time.time()) + draw(st.one_of(st.just(0), _offsets))
    prefix = draw(st.sampled_from(["webhook", "svix"]))
    secret = draw(_mostly(s.SW_SECRET, s.SW_OLD_SECRET))
    headers = s.standard_headers(BODY, secret, msg_id="msg_1", timestamp=stamp, prefix=prefix)
    sig = headers[f"{prefix}-signature"]
    headers[f"{prefix}-signature"] = draw(
        _mostly(sig, sig[:-2], sig.replace("v1,", "v2,"), f"v1,AAAA {sig}", sig.upper())
    )
    headers[f"{prefix}-id"] = draw(_mostly("msg_1", "msg_2"))
    if draw(_mostly(False, True)):
        del headers[draw(st.sampled_from(sorted(headers)))]
    return draw(_mostly(BODY, OTHER_BODY)), headers, prefix


def _theirs(body: bytes, headers: dict[str, str], prefix: str) -> bool:
    verifier = svix.Webhook(s.SW_SECRET) if prefix == "svix" else StandardWebhook(s.SW_SECRET)
    try:
        verifier.verify(body, headers)
    except Exception:  # the libraries raise more than their own error on malformed headers
        return False
    return True


def test_our_verifier_agrees_with_the_libraries() -> None:
    # Given deliveries near a signed one: body, secret, id, timestamp and signature each varied
    outcomes = {True: 0, False: 0}

    @settings(max_examples=150, deadline=None, database=None)
    @given(_candidates())
    def agree(candidate: tuple[bytes, dict[str, str], str]) -> None:
        # When each is verified by our verifier and by the library of its headers' prefix
        body, headers, prefix = candidate
        try:
            _verify(headers, body, at=datetime.now(UTC))
            ours = True
        except SignatureError:
            ours = False
        outcomes[ours] += 1
        # Then both give the same answer
        assert ours == _theirs(body, headers, prefix)

    agree()
    # And both outcomes were exercised, so the agreement is not vacuous
    print("standard-webhooks verifier vs libraries, accepted/rejected:", outcomes[True], outcomes[False])
    assert outcomes[True] >= 5 and outcomes[False] >= 5, outcomes


# -- mapping -------------------------------------------------------------------------------------


def _map(envelope: object, headers: dict[str, str] | None = None):
    headers = headers if headers is not None else s.standard_headers(BODY, msg_id="msg_2Lq9")
    return standard_webhooks.map_webhook(envelope, s.delivery(headers, BODY), CONNECTION)


def test_delivery_maps_to_the_canonical_event_keyed_on_the_message_id() -> None:
    # When a delivery is mapped
    new = _map(ENVELOPE)
    event = new.event
    # Then its id is derived from the tenant, the source and the webhook-id
    assert event.id == event_id_for("tenant-a", "standard-webhooks", "msg_2Lq9")
    # And it keeps the message id and the connection's tenant
    assert (event.source, event.source_event_id, event.tenant_id) == (
        "standard-webhooks",
        "msg_2Lq9",
        "tenant-a",
    )
    # And the envelope's type and time
    assert event.event_type == "invoice.paid"
    assert event.occurred_at == "2025-02-26T20:08:00.123456Z"
    # And its resource and correlation are the data's object and id
    assert (event.resource_type, event.resource_id, event.correlation_id) == ("invoice", "inv_42", "inv_42")
    # And the provider is the actor, and the payload the whole envelope, with no artifact
    assert (event.actor_type, event.actor_id) == ("provider", "standard-webhooks-test")
    assert event.payload == ENVELOPE
    assert new.artifact_urls == []


def test_svix_headers_give_the_same_id_as_standard_ones() -> None:
    # When a delivery with svix- headers and one with webhook- headers, of the same message id, are mapped
    svix_headers = s.standard_headers(BODY, msg_id="msg_2Lq9", prefix="svix")
    # Then both events have the same id
    assert _map(ENVELOPE, svix_headers).event.id == _map(ENVELOPE).event.id


def test_redelivery_with_a_new_timestamp_keeps_the_id() -> None:
    # When the same message is redelivered with a later timestamp
    later = s.standard_headers(BODY, msg_id="msg_2Lq9", timestamp=s.NOW_TS + 120)
    # Then it maps to the same id
    assert _map(ENVELOPE, later).event.id == _map(ENVELOPE).event.id


def test_without_a_body_timestamp_the_signed_timestamp_is_the_event_time() -> None:
    # Given an envelope without a timestamp
    envelope = {k: v for k, v in ENVELOPE.items() if k != "timestamp"}
    # When it is mapped
    headers = s.standard_headers(BODY, timestamp=1_740_600_000)
    # Then it occurred at the signed timestamp
    assert _map(envelope, headers).event.occurred_at == "2025-02-26T20:00:00.000000Z"


def test_body_of_any_shape_is_stored_whole() -> None:
    # When a body that is not an object is mapped
    event = _map(["a", 1]).event
    # Then it is stored whole under value, of unknown type
    assert event.event_type == "unknown"
    assert event.payload == {"value": ["a", 1]}
    # And an envelope naming its type as eventType keeps it
    assert _map({"eventType": "legacy.thing"}).event.event_type == "legacy.thing"


def test_mapping_a_delivery_without_its_id_header_is_refused() -> None:
    # Given a delivery without its webhook-id header
    headers = s.standard_headers(BODY)
    del headers["webhook-id"]
    # When it is mapped
    # Then it is refused: the id is missing
    with pytest.raises(SignatureError, match="missing"):
        _map(ENVELOPE, headers)


def test_unreadable_header_timestamp_falls_back_to_the_receive_time() -> None:
    # Given an envelope without a timestamp, and a timestamp header that is not unix seconds
    envelope = {k: v for k, v in ENVELOPE.items() if k != "timestamp"}
    headers = {**s.standard_headers(BODY), "webhook-timestamp": "²⁰²⁵"}
    # When it is mapped
    # Then it occurred at the receive time
    assert _map(envelope, headers).event.occurred_at == "2025-02-26T20:08:30.000000Z"


# -- v1a: ed25519 signatures checked with the connection's whpk_ public keys -------------------


def _ed25519_pair() -> tuple[Any, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public = base64.b64encode(private.public_key().public_bytes_raw()).decode()
    return private, f"whpk_{public}"


def _v1a_headers(
    private: Any, body: bytes, msg_id: str = "msg_v1a", timestamp: int = s.NOW_TS
) -> dict[str, str]:
    signature = private.sign(f"{msg_id}.{timestamp}.".encode() + body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1a,{base64.b64encode(signature).decode()}",
    }


def _public_key_connection(*public_keys: str, secrets: Sequence[str] = ()) -> Connection:
    return Connection.model_validate(
        {
            "id": "sw-asymmetric",
            "provider": "standard-webhooks",
            "tenantId": "tenant-a",
            "secrets": list(secrets),
            "publicKeys": list(public_keys),
        }
    )


def _verify_for(connection: Connection, headers: dict[str, str], body: bytes) -> None:
    keys = [str(secret) for secret in connection.secrets]
    WEBHOOK_SCHEMES[connection.provider].verify(s.delivery(headers, body), keys, connection)


def test_v1a_signature_verifies_with_the_public_key_alone() -> None:
    # Given a connection configured with a public key and no secret
    private, public = _ed25519_pair()
    connection = _public_key_connection(public)
    assert connection.receives_webhooks
    # When a delivery signed with the matching private key arrives, Then it verifies
    _verify_for(connection, _v1a_headers(private, BODY), BODY)
    # And one byte changed, another key's signature, or a signature that is not base64 fail
    with pytest.raises(SignatureError, match="does not match"):
        _verify_for(connection, _v1a_headers(private, BODY), BODY + b" ")
    other, _ = _ed25519_pair()
    with pytest.raises(SignatureError, match="does not match"):
        _verify_for(connection, _v1a_headers(other, BODY), BODY)
    with pytest.raises(SignatureError, match="does not match"):
        _verify_for(connection, {**_v1a_headers(private, BODY), "webhook-signature": "v1a,!!notbase64"}, BODY)


def test_v1a_and_v1_both_verify_on_a_connection_with_a_key_and_a_secret_and_rotate() -> None:
    private, public = _ed25519_pair()
    _, retired = _ed25519_pair()
    connection = _public_key_connection(retired, public, secrets=[s.SW_SECRET])
    _verify_for(connection, _v1a_headers(private, BODY), BODY)
    _verify_for(connection, s.standard_headers_raw(BODY, msg_id="msg_v1", timestamp=s.NOW_TS), BODY)
    # And a header with both kinds verifies when either is good
    both = _v1a_headers(private, BODY, msg_id="msg_v1")
    both["webhook-signature"] += " " + s.standard_headers_raw(BODY, msg_id="msg_v1", timestamp=s.NOW_TS)[
        "webhook-signature"
    ].replace("v1,", "v1,AAAA", 1)
    _verify_for(connection, both, BODY)


def test_a_v1_signature_is_not_accepted_by_a_public_key_only_connection() -> None:
    # Given a connection with a public key only, and a delivery HMAC-signed with some secret
    _, public = _ed25519_pair()
    headers = s.standard_headers_raw(BODY, msg_id="msg_v1", timestamp=s.NOW_TS)
    # When it is verified, Then it is refused: there is no secret to check a v1 signature with
    with pytest.raises(SignatureError, match="no v1a signature"):
        _verify_for(_public_key_connection(public), headers, BODY)


def test_a_v1a_signature_outside_the_replay_window_is_refused() -> None:
    private, public = _ed25519_pair()
    with pytest.raises(SignatureError, match="replay window"):
        _verify_for(
            _public_key_connection(public), _v1a_headers(private, BODY, timestamp=s.NOW_TS - 301), BODY
        )


@pytest.mark.parametrize(
    "value", ["whpk_short", "whsec_" + "A" * 43 + "=", "A" * 44, "whpk_" + "A" * 43 + "=="], ids=str
)
def test_a_malformed_public_key_is_refused_by_the_configuration(value: str) -> None:
    with pytest.raises(ValueError, match="whpk_"):
        _public_key_connection(value)


def test_public_keys_belong_to_standard_webhooks_connections_only() -> None:
    _, public = _ed25519_pair()
    with pytest.raises(ValueError, match="publicKeys applies to standard-webhooks"):
        Connection.model_validate(
            {"id": "x", "provider": "extend", "tenantId": "t", "secrets": ["k1"], "publicKeys": [public]}
        )


def test_the_intake_handler_does_not_import_cryptography() -> None:
    # Given a fresh interpreter, When it imports the intake handler (as a cold start does)
    code = "import sys, functions.handlers.intake; print('cryptography' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    # Then cryptography is not loaded: only a v1a verification imports it
    assert loaded.stdout.strip() == "False"
