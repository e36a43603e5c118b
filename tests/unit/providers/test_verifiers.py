"""Every webhook verifier: valid deliveries pass; anything tampered, stale, unsigned or malformed
raises SignatureError; any of several active secrets verifies (rotation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from functions.errors import SignatureError
from functions.models.config import Provider
from functions.providers import WEBHOOK_SCHEMES
from tests.unit.providers import signing as s

BODY = s.body_of({"eventId": "evt_1", "eventType": "extract_run.processed", "payload": {"id": "exr_1"}})


@dataclass(frozen=True)
class Scheme:
    provider: Provider
    sign: Callable[[bytes, str, int], dict[str, str]]  # body, secret, timestamp -> headers
    old_secret: str
    max_future: int = 300

    def __str__(self) -> str:
        return self.provider.value

    @property
    def secret(self) -> str:
        return s.SECRETS[self.provider]

    def verify(self, headers: dict[str, str], body: bytes = BODY, *secrets: str) -> None:
        keys = list(secrets) or [self.secret]
        WEBHOOK_SCHEMES[self.provider].verify(s.delivery(headers, body), keys, s.connection(self.provider))


SCHEMES = [
    Scheme(Provider.EXTEND, lambda b, k, t: s.extend_headers(b, k, t), s.EXTEND_OLD_SECRET, max_future=60),
    Scheme(Provider.EXA, lambda b, k, t: s.exa_headers(b, k, timestamp=t), s.EXA_OLD_SECRET),
    Scheme(Provider.KLAVI, lambda b, k, t: s.klavi_headers(b, k, t), s.KLAVI_OLD_SECRET),
    Scheme(
        Provider.STANDARD_WEBHOOKS, lambda b, k, t: s.standard_headers(b, k, timestamp=t), s.SW_OLD_SECRET
    ),
    Scheme(
        Provider.STANDARD_WEBHOOKS,
        lambda b, k, t: s.standard_headers(b, k, timestamp=t, prefix="svix"),
        s.SW_OLD_SECRET,
    ),
    Scheme(Provider.HMAC, lambda b, k, t: s.hmac_headers(b, k, t), s.HMAC_OLD_SECRET),
]
IDS = ["extend", "exa", "klavi", "standard-webhooks", "svix", "hmac"]

# Every header a provider requires, and values of the right header in the wrong shape.
REQUIRED = {
    "extend": ["x-extend-request-timestamp", "x-extend-request-signature"],
    "exa": ["exa-signature"],
    "klavi": ["x-klavi-signature", "x-klavi-timestamp"],
    "standard-webhooks": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "svix": ["svix-id", "svix-timestamp", "svix-signature"],
    "hmac": ["x-test-signature", "x-test-timestamp"],
}
MALFORMED = {
    "hmac": [
        ("x-test-timestamp", "yesterday"),
        ("x-test-timestamp", "1" * 13),
        ("x-test-signature", "abcdef"),  # no v0= prefix
        ("x-test-signature", "v0="),
        ("x-test-signature", "v0=" + "zz" * 32),
    ],
    "extend": [
        ("x-extend-request-timestamp", "yesterday"),
        ("x-extend-request-timestamp", "-1740600510"),
        ("x-extend-request-timestamp", "1740600510.5"),
        ("x-extend-request-timestamp", "¹⁷⁴⁰⁶⁰⁰⁵¹⁰"),
        ("x-extend-request-signature", "sha256=abc"),
        ("x-extend-request-signature", "zz" * 32),
    ],
    "exa": [
        ("exa-signature", "v1=abcdef"),
        ("exa-signature", f"t={s.NOW_TS}"),
        ("exa-signature", f"t={s.NOW_TS},v0=abcdef"),
        ("exa-signature", f"t={s.NOW_TS},v1="),
        ("exa-signature", "t=,v1=abcdef"),
        ("exa-signature", "garbage"),
        ("exa-signature", ",,,=,="),
    ],
    "klavi": [
        ("x-klavi-timestamp", "now"),
        ("x-klavi-timestamp", "1" * 13),
        ("x-klavi-signature", "not-hex"),
    ],
    "standard-webhooks": [
        ("webhook-signature", "v1"),
        ("webhook-signature", "v1,"),
        ("webhook-signature", "v1,!!!not-base64!!!"),
        ("webhook-signature", "v2,c2lnbmF0dXJl"),
        ("webhook-timestamp", "1e9"),
    ],
    "svix": [
        ("svix-signature", "v1 ,"),
        ("svix-timestamp", "soon"),
    ],
}


def _scheme(name: str) -> Scheme:
    return SCHEMES[IDS.index(name)]


@pytest.fixture(params=SCHEMES, ids=IDS)
def scheme(request: pytest.FixtureRequest) -> Scheme:
    return request.param


def test_valid_delivery_verifies(scheme: Scheme) -> None:
    # Given a delivery signed with the connection's secret, just now
    headers = scheme.sign(BODY, scheme.secret, s.NOW_TS)
    # When it is verified
    # Then it verifies (no exception)
    scheme.verify(headers)


def test_tampered_body_is_rejected(scheme: Scheme) -> None:
    # Given a delivery signed with the connection's secret
    headers = scheme.sign(BODY, scheme.secret, s.NOW_TS)
    # When its body is changed
    tampered = BODY.replace(b"exr_1", b"exr_2")
    # Then it is rejected: the signature does not match
    with pytest.raises(SignatureError, match="does not match"):
        scheme.verify(headers, tampered)


def test_signature_by_another_secret_is_rejected(scheme: Scheme) -> None:
    # Given a delivery signed with a secret not the connection's
    other = s.SW_OLD_SECRET if scheme.provider is Provider.STANDARD_WEBHOOKS else s.WRONG_SECRET
    headers = scheme.sign(BODY, other, s.NOW_TS)
    # When it is verified
    # Then it is rejected: the signature does not match
    with pytest.raises(SignatureError, match="does not match"):
        scheme.verify(headers)


def test_timestamp_older_than_the_replay_window_is_rejected(scheme: Scheme) -> None:
    # Given a delivery signed 301 seconds ago
    headers = scheme.sign(BODY, scheme.secret, s.NOW_TS - 301)
    # When it is verified
    # Then it is rejected as too old
    with pytest.raises(SignatureError, match="too old"):
        scheme.verify(headers)


def test_timestamp_at_the_edge_of_the_replay_window_verifies(scheme: Scheme) -> None:
    # When deliveries signed 300 seconds ago, and as far ahead as the provider allows, are verified
    # Then both verify
    scheme.verify(scheme.sign(BODY, scheme.secret, s.NOW_TS - 300))
    scheme.verify(scheme.sign(BODY, scheme.secret, s.NOW_TS + scheme.max_future))


def test_timestamp_too_far_in_the_future_is_rejected(scheme: Scheme) -> None:
    # Given a delivery signed one second further ahead than the provider allows
    headers = scheme.sign(BODY, scheme.secret, s.NOW_TS + scheme.max_future + 1)
    # When it is verified
    # Then it is rejected as from the future
    with pytest.raises(SignatureError, match="in the future"):
        scheme.verify(headers)


@pytest.mark.parametrize(("name", "header"), [(n, h) for n in IDS for h in REQUIRED[n]])
def test_missing_header_is_rejected(name: str, header: str) -> None:
    # Given a signed delivery without one of the headers its provider requires
    scheme = _scheme(name)
    headers = {k.lower(): v for k, v in scheme.sign(BODY, scheme.secret, s.NOW_TS).items()}
    del headers[header]
    # When it is verified
    # Then it is rejected, the header missing
    with pytest.raises(SignatureError, match="missing"):
        scheme.verify(headers)


@pytest.mark.parametrize(("name", "header"), [(n, h) for n in IDS for h in REQUIRED[n]])
def test_empty_header_is_rejected(name: str, header: str) -> None:
    # Given a signed delivery with one of its required headers blank
    scheme = _scheme(name)
    headers = {k.lower(): v for k, v in scheme.sign(BODY, scheme.secret, s.NOW_TS).items()}
    headers[header] = "  "
    # When it is verified
    # Then it is rejected
    with pytest.raises(SignatureError):
        scheme.verify(headers)


@pytest.mark.parametrize(("name", "header", "value"), [(n, h, v) for n in IDS for h, v in MALFORMED[n]])
def test_malformed_header_is_rejected(name: str, header: str, value: str) -> None:
    # Given a signed delivery with one header in the wrong shape
    scheme = _scheme(name)
    headers = {k.lower(): v for k, v in scheme.sign(BODY, scheme.secret, s.NOW_TS).items()}
    headers[header] = value
    # When it is verified
    # Then it is rejected
    with pytest.raises(SignatureError):
        scheme.verify(headers)


def test_oversized_signature_header_is_rejected_before_any_work(scheme: Scheme) -> None:
    # Given a signed delivery whose signature header is over 9,000 characters long
    headers = {k.lower(): v for k, v in scheme.sign(BODY, scheme.secret, s.NOW_TS).items()}
    name = next(h for h in headers if "signature" in h)
    headers[name] = headers[name] + " " + "a" * 9_000
    # When it is verified
    # Then it is rejected as too long, before any work
    with pytest.raises(SignatureError, match="too long"):
        scheme.verify(headers)


@pytest.mark.parametrize("signed_with", ["current", "previous"])
def test_any_active_secret_verifies_during_rotation(scheme: Scheme, signed_with: str) -> None:
    # Given a connection with two active secrets (the new one and the one being retired)
    secret = scheme.secret if signed_with == "current" else scheme.old_secret
    headers = scheme.sign(BODY, secret, s.NOW_TS)
    # Then a delivery signed with either verifies, whatever the order of the secrets
    scheme.verify(headers, BODY, scheme.secret, scheme.old_secret)
    scheme.verify(headers, BODY, scheme.old_secret, scheme.secret)


def test_retired_secret_no_longer_verifies(scheme: Scheme) -> None:
    # Given a delivery signed with a secret since retired
    headers = scheme.sign(BODY, scheme.old_secret, s.NOW_TS)
    # When it is verified against the current secret alone
    # Then it is rejected
    with pytest.raises(SignatureError):
        scheme.verify(headers, BODY, scheme.secret)


def test_connection_without_secrets_verifies_nothing(scheme: Scheme) -> None:
    # Given a signed delivery
    headers = scheme.sign(BODY, scheme.secret, s.NOW_TS)
    # When it is verified for a connection with no secret
    # Then it is rejected
    with pytest.raises(SignatureError):
        WEBHOOK_SCHEMES[scheme.provider].verify(s.delivery(headers, BODY), [], s.connection(scheme.provider))


@pytest.mark.parametrize("blank", ["", " ", "\t\n"], ids=["empty", "space", "whitespace"])
def test_blank_secret_never_verifies_even_a_delivery_signed_with_it(scheme: Scheme, blank: str) -> None:
    # Given a delivery signed with a blank key: an HMAC anybody can compute
    if scheme.provider is Provider.STANDARD_WEBHOOKS:
        headers = s.standard_headers_raw(BODY, "whsec_" + blank, msg_id="msg_blank", timestamp=s.NOW_TS)
    else:
        headers = scheme.sign(BODY, blank, s.NOW_TS)
    # When it is checked against a connection whose only secret is that blank value
    # Then it is refused
    with pytest.raises(SignatureError):
        scheme.verify(headers, BODY, blank)


def test_rejection_message_never_contains_the_secret(scheme: Scheme) -> None:
    # Given a delivery signed with a secret not the connection's
    headers = scheme.sign(
        BODY,
        s.WRONG_SECRET if scheme.provider is not Provider.STANDARD_WEBHOOKS else scheme.old_secret,
        s.NOW_TS,
    )
    # When it is verified
    # Then it is rejected
    with pytest.raises(SignatureError) as caught:
        scheme.verify(headers)
    # And the message holds nothing of the connection's secret
    assert scheme.secret not in str(caught.value)
    assert scheme.secret not in caught.value.message
