"""Test-side signers, written from PROVIDERS.md independently of ``functions.providers``.

Where a provider ships a library, the tests use it instead (``standardwebhooks``/``svix`` sign,
``extend_ai`` verifies); these helpers cover what the libraries do not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook as StandardWebhook

from functions.models.config import Connection, Provider
from functions.providers.base import Delivery
from tests.conftest import sensitive

# A fixed receive time: verifiers take "now" from the delivery, so most tests need no clock.
NOW = datetime(2025, 2, 26, 20, 8, 30, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())

EXTEND_SECRET = "wss_test_extend_signing_secret_1"
EXTEND_OLD_SECRET = "wss_test_extend_signing_secret_0"
EXA_SECRET = "exa_test_webhook_secret_1"
EXA_OLD_SECRET = "exa_test_webhook_secret_0"
KLAVI_SECRET = "klavi-test-secret-key-1"
KLAVI_OLD_SECRET = "klavi-test-secret-key-0"
SW_SECRET = "whsec_dGVzdC1zdGFuZGFyZC13ZWJob29rcy1rZXktMQ=="
SW_OLD_SECRET = "whsec_dGVzdC1zdGFuZGFyZC13ZWJob29rcy1rZXktMA=="
HMAC_SECRET = "generic-hmac-test-secret-1"
HMAC_OLD_SECRET = "generic-hmac-test-secret-0"
WRONG_SECRET = "not-the-configured-secret"
sensitive(
    EXTEND_SECRET,
    EXTEND_OLD_SECRET,
    EXA_SECRET,
    EXA_OLD_SECRET,
    KLAVI_SECRET,
    KLAVI_OLD_SECRET,
    SW_SECRET,
    SW_OLD_SECRET,
    HMAC_SECRET,
    HMAC_OLD_SECRET,
    WRONG_SECRET,
)

SECRETS = {
    Provider.EXTEND: EXTEND_SECRET,
    Provider.EXA: EXA_SECRET,
    Provider.KLAVI: KLAVI_SECRET,
    Provider.STANDARD_WEBHOOKS: SW_SECRET,
    Provider.HMAC: HMAC_SECRET,
}

# The generic HMAC connection of the shared tests: Slack's layout (a timestamp inside the
# signed content, a prefix, hex) under test header names; the id in the body, the type in a header.
HMAC_SETTINGS = {
    "signatureHeader": "X-Test-Signature",
    "prefix": "v0=",
    "encoding": "hex",
    "algorithm": "sha256",
    "signedContent": "v0:{timestamp}:{body}",
    "timestampHeader": "X-Test-Timestamp",
    "idField": "/id",
    "typeHeader": "X-Test-Event",
}


def connection(provider: Provider, *secrets: str, tenant: str = "tenant-a") -> Connection:
    return Connection.model_validate(
        {
            "id": f"{provider.value}-test",
            "provider": provider,
            "tenantId": tenant,
            "secrets": list(secrets) or [SECRETS[provider]],
            **({"hmac": HMAC_SETTINGS} if provider is Provider.HMAC else {}),
        }
    )


def hmac_headers(body: bytes, secret: str = HMAC_SECRET, timestamp: int = NOW_TS) -> dict[str, str]:
    """HMAC_SETTINGS's signature, as Slack documents its own: v0= hex(HMAC-SHA256("v0:ts:body"))."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "x-test-signature": f"v0={digest}",
        "x-test-timestamp": str(timestamp),
        "x-test-event": "thing.done",
    }


def delivery(headers: dict[str, str], body: bytes, received_at: datetime = NOW) -> Delivery:
    return Delivery(headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=received_at)


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# -- Extend: hex HMAC-SHA256 of "v0:{timestamp}:{raw body}" ------------------------------------


def extend_signature(body: bytes, secret: str, timestamp: int | str) -> str:
    return _hex_hmac(secret, f"v0:{timestamp}:".encode() + body)


def extend_headers(body: bytes, secret: str = EXTEND_SECRET, timestamp: int = NOW_TS) -> dict[str, str]:
    return {
        "x-extend-request-timestamp": str(timestamp),
        "x-extend-request-signature": extend_signature(body, secret, timestamp),
    }


# -- Exa: Exa-Signature: t=<unix>,v1=<hex>[,v1=<hex>...] over "{t}.{raw body}" ---------------


def exa_signature(body: bytes, secret: str, timestamp: int | str) -> str:
    return _hex_hmac(secret, f"{timestamp}.".encode() + body)


def exa_headers(body: bytes, *secrets: str, timestamp: int = NOW_TS) -> dict[str, str]:
    entries = [f"v1={exa_signature(body, s, timestamp)}" for s in secrets or (EXA_SECRET,)]
    return {"Exa-Signature": ",".join([f"t={timestamp}", *entries])}


# -- Klavi push: hex HMAC-SHA256 of the body; X-Klavi-Timestamp is not signed -----------------


def klavi_headers(
    body: bytes, secret: str = KLAVI_SECRET, timestamp: int = NOW_TS, *, signed: bytes | None = None
) -> dict[str, str]:
    return {
        "X-Klavi-Signature": _hex_hmac(secret, body if signed is None else signed),
        "X-Klavi-Timestamp": str(timestamp),
    }


def compact(body: bytes) -> bytes:
    """Klavi's example signs the re-serialized JSON: compact separators, non-ASCII kept."""
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


# -- Standard Webhooks / Svix: signed by the standardwebhooks library -------------------------


def standard_headers(
    body: bytes,
    secret: str = SW_SECRET,
    *,
    msg_id: str = "msg_2Lq9bQpXk7c1",
    timestamp: int = NOW_TS,
    prefix: str = "webhook",
) -> dict[str, str]:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(timestamp),
        f"{prefix}-signature": StandardWebhook(secret).sign(msg_id, moment, body.decode()),
    }


def standard_headers_raw(
    body: bytes, secret: str = SW_SECRET, *, msg_id: str, timestamp: int
) -> dict[str, str]:
    """The same scheme from the spec, over raw bytes (the library wants text)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{base64.b64encode(digest).decode()}",
    }


def signed_headers(provider: Provider, body: bytes, timestamp: int = NOW_TS) -> dict[str, str]:
    """A valid signature for ``body`` under the provider's test secret."""
    if provider is Provider.EXTEND:
        return extend_headers(body, timestamp=timestamp)
    if provider is Provider.EXA:
        return exa_headers(body, timestamp=timestamp)
    if provider is Provider.KLAVI:
        return klavi_headers(body, timestamp=timestamp)
    if provider is Provider.HMAC:
        return hmac_headers(body, timestamp=timestamp)
    msg_id = "msg_" + hashlib.sha256(body).hexdigest()[:24]
    return standard_headers_raw(body, msg_id=msg_id, timestamp=timestamp)
