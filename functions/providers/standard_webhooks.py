"""Standard Webhooks (and Svix): ``v1,<base64>`` HMAC-SHA256 of ``{id}.{timestamp}.{raw body}``,
and ``v1a,<base64>`` ed25519 signatures of the same content, checked with the connection's
``whpk_`` public keys (``cryptography`` is imported on that path only, so the intake's cold
start does not carry it)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from functions.errors import SignatureError
from functions.models.config import Connection
from functions.models.event import CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp
from functions.observability import logger
from functions.providers.base import (
    Delivery,
    check_timestamp,
    hmac_sha256,
    matches,
    optional_str,
    timestamp_or,
)

SOURCE = "standard-webhooks"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
PUBLIC_KEY_PREFIX = "whpk_"


def _key(secret: str) -> bytes | None:
    """The HMAC key of a ``whsec_<base64>`` secret (padding optional, as the reference
    libraries accept); None if the secret is not base64."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    raw = raw.strip()
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def _keys(secrets: Sequence[str]) -> list[bytes]:
    """One key per usable secret: a malformed secret must not disable the others (rotation)."""
    keys = [key for key in map(_key, secrets) if key is not None]
    if len(keys) < len(secrets):
        logger.warning("a standard-webhooks connection secret is not whsec_ base64; it is ignored")
    if not keys:
        raise SignatureError("no connection secret is a whsec_ base64 secret")
    return keys


def _headers(delivery: Delivery) -> tuple[str, str, str]:
    message_id = delivery.header("webhook-id", "svix-id")
    timestamp = delivery.header("webhook-timestamp", "svix-timestamp")
    signature = delivery.header("webhook-signature", "svix-signature")
    if not message_id or not timestamp or not signature:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    return message_id, timestamp, signature


def verify(delivery: Delivery, secrets: Sequence[str], public_keys: Sequence[str] = ()) -> None:
    """A v1 signature verified by one of ``secrets``, or a v1a one by one of ``public_keys``."""
    message_id, timestamp, header = _headers(delivery)
    check_timestamp(timestamp, delivery.received_at)
    entries = header.split(" ")
    symmetric = [entry[3:] for entry in entries if entry.startswith("v1,")] if secrets else []
    asymmetric = [entry[4:] for entry in entries if entry.startswith("v1a,")] if public_keys else []
    if not symmetric and not asymmetric:
        wanted = " or ".join(v for v, keys in (("v1", secrets), ("v1a", public_keys)) if keys)
        raise SignatureError(f"webhook-signature has no {wanted} signature")
    message = f"{message_id}.{timestamp}.".encode() + delivery.body
    if symmetric:
        expected = [base64.b64encode(hmac_sha256(key, message)).decode() for key in _keys(secrets)]
        if any([matches(e, p) for e in expected for p in symmetric]):  # noqa: C419
            return
    if asymmetric and _ed25519_verifies(public_keys, asymmetric, message):
        return
    raise SignatureError("signature does not match")


def _ed25519_verifies(public_keys: Sequence[str], signatures: Sequence[str], message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = [Ed25519PublicKey.from_public_bytes(_decoded(k[len(PUBLIC_KEY_PREFIX) :])) for k in public_keys]
    for signature in signatures:
        try:
            raw = _decoded(signature)
        except (binascii.Error, ValueError):
            continue
        for key in keys:
            try:
                key.verify(raw, message)
            except InvalidSignature:
                continue
            return True
    return False


def _decoded(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _unix_seconds(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def map_webhook(envelope: Any, delivery: Delivery, connection: Connection) -> NewEvent:
    message_id, timestamp, _ = _headers(delivery)
    body = envelope if isinstance(envelope, dict) else {"value": envelope}
    data = body.get("data")
    event = CanonicalEvent(
        id=event_id_for(connection.tenant_id, SOURCE, message_id),
        tenant_id=connection.tenant_id,
        source=SOURCE,
        source_event_id=message_id,
        event_type=optional_str(body, "type") or optional_str(body, "eventType") or "unknown",
        occurred_at=timestamp_or(body.get("timestamp") or _unix_seconds(timestamp), delivery.received_at),
        received_at=format_timestamp(delivery.received_at),
        resource_type=optional_str(data, "object"),
        resource_id=optional_str(data, "id"),
        correlation_id=optional_str(data, "id"),
        actor_type="provider",
        actor_id=connection.id,
        channel=Channel.WEBHOOK,
        payload=body,
    )
    return NewEvent(event=event)
