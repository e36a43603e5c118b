"""Sign a webhook body the way each provider does (PROVIDERS.md), for `make send`, the tests'
fixtures and the benchmarks. The tests check these against the providers' own libraries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from functions.models.config import Provider
from functions.models.hmac_settings import HmacSettings


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def default_message_id(body: bytes) -> str:
    """A Standard Webhooks message id derived from the body: re-sending a sample is a redelivery."""
    return "msg_" + hashlib.sha256(body).hexdigest()[:24]


def sign(
    provider: Provider | str,
    secret: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    message_id: str | None = None,
    hmac_settings: HmacSettings | None = None,
) -> dict[str, str]:
    """The headers a provider would send with ``body``, signed with ``secret`` at ``timestamp``
    (an ``hmac`` connection's as its ``hmac_settings`` describe)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": "application/json"}
    match Provider(provider):
        case Provider.EXTEND:
            headers["x-extend-request-timestamp"] = stamp
            headers["x-extend-request-signature"] = _hex_hmac(secret, f"v0:{stamp}:".encode() + body)
        case Provider.EXA:
            headers["Exa-Signature"] = f"t={stamp},v1={_hex_hmac(secret, f'{stamp}.'.encode() + body)}"
        case Provider.KLAVI:
            headers["X-Klavi-Signature"] = _hex_hmac(secret, body)
            headers["X-Klavi-Timestamp"] = stamp
        case Provider.STANDARD_WEBHOOKS:
            msg_id = message_id or default_message_id(body)
            key = base64.b64decode(secret.removeprefix("whsec_"))
            digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
            headers["webhook-id"] = msg_id
            headers["webhook-timestamp"] = stamp
            headers["webhook-signature"] = "v1," + base64.b64encode(digest).decode()
        case Provider.HMAC if hmac_settings is not None:
            headers.update(_configured(hmac_settings, secret, body, stamp, message_id))
        case other:
            raise ValueError(f"provider {other} does not send webhooks (or its hmac settings are missing)")
    return headers


def _configured(
    settings: HmacSettings, secret: str, body: bytes, stamp: str, message_id: str | None
) -> dict[str, str]:
    from functions.providers.generic_hmac import signature, signed_content

    headers = {settings.signature_header: signature(settings, secret.encode(), signed_content(
        settings.signed_content, body, stamp if settings.timestamp_header else None
    ))}  # fmt: skip
    if settings.timestamp_header:
        headers[settings.timestamp_header] = stamp
    if settings.id_header:  # the body's hash, unless given: re-sending a sample is a redelivery
        headers[settings.id_header] = message_id or default_message_id(body)
    return headers
