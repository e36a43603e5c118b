"""Any HMAC-signing sender, described by its connection's ``hmac`` block (GitHub, Shopify,
Slack and the like): the signature header, its prefix and encoding, the digest, the signed
content, the timestamp and its tolerance, and where the event id and type are.

The event's ``source`` is the connection id (two GitHub organisations are two sources), and its
``sourceEventId`` the sender's id; a delivery with no id is refused (400), never stored under
one we make up, since the id is what makes a re-send a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from functions.errors import MalformedPayload, SignatureError
from functions.models.config import Connection
from functions.models.event import CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp
from functions.models.hmac_settings import Encoding, HmacSettings, placeholders
from functions.providers.base import (
    Delivery,
    check_timestamp,
    matches,
    optional_str,
    signing_keys,
    timestamp_or,
)


class NoIdempotencyKey(MalformedPayload):
    code = "no_idempotency_key"


def _settings(connection: Connection) -> HmacSettings:
    if connection.hmac is None:  # the configuration refuses this; a guard, not a path
        raise SignatureError(f"connection {connection.id!r} has no hmac settings")
    return connection.hmac


def signed_content(template: str, body: bytes, timestamp: str | None) -> bytes:
    """The bytes the sender signed: the template with the raw body (byte-exact) and the
    timestamp header's value in place of ``{body}`` and ``{timestamp}``."""
    values = {"body": body, "timestamp": (timestamp or "").encode()}
    parts: list[bytes] = []
    rest = template
    for name in placeholders(template):
        before, _, rest = rest.partition("{" + name + "}")
        parts += [before.encode(), values[name]]
    return b"".join([*parts, rest.encode()])


def signature(settings: HmacSettings, key: bytes, content: bytes) -> str:
    """What the sender puts in its signature header for ``content``, prefix included."""
    digest = hmac.new(key, content, getattr(hashlib, settings.algorithm.value)).digest()
    text = digest.hex() if settings.encoding is Encoding.HEX else base64.b64encode(digest).decode()
    return settings.prefix + text


def _normalized(settings: HmacSettings, value: str) -> str:
    # Hex digits are case-insensitive; base64 is not.
    return value.lower() if settings.encoding is Encoding.HEX else value


def verify(delivery: Delivery, secrets: Sequence[str], connection: Connection) -> None:
    settings = _settings(connection)
    presented = delivery.require(settings.signature_header.lower())
    timestamp = None
    if settings.timestamp_header is not None:
        timestamp = delivery.require(settings.timestamp_header.lower())
        tolerance = settings.tolerance_seconds
        check_timestamp(timestamp, delivery.received_at, max_age=tolerance, max_future=tolerance)
    if not presented.startswith(settings.prefix):
        raise SignatureError(f"{settings.signature_header} does not start with {settings.prefix!r}")
    content = signed_content(settings.signed_content, delivery.body, timestamp)
    candidate = _normalized(settings, presented[len(settings.prefix) :])
    expected = [
        _normalized(settings, signature(settings, key, content)[len(settings.prefix) :])
        for key in signing_keys(secrets)
    ]
    if not any([matches(e, candidate) for e in expected]):  # noqa: C419 - every key, no early exit
        raise SignatureError("signature does not match")


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at ``pointer`` in ``document``, or None where there is none."""
    value = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value = value.get(token)
        elif isinstance(value, list) and token.isascii() and token.isdigit():
            index = int(token)
            value = value[index] if index < len(value) else None
        else:
            return None
    return value


def _find(delivery: Delivery, envelope: Any, header: str | None, field: str | None) -> str | None:
    if header is not None and (value := delivery.header(header.lower())):
        return value if optional_str({"v": value}, "v") else None
    if field is not None:
        return optional_str({"v": resolve_pointer(envelope, field)}, "v")
    return None


def map_webhook(envelope: Any, delivery: Delivery, connection: Connection) -> NewEvent:
    settings = _settings(connection)
    source_event_id = _find(delivery, envelope, settings.id_header, settings.id_field)
    if source_event_id is None:
        where = " or ".join(
            f"{kind} {name}"
            for kind, name in (("header", settings.id_header), ("field", settings.id_field))
            if name is not None
        )
        raise NoIdempotencyKey(f"no idempotency key: the delivery has no event id ({where})")
    event_type = _find(delivery, envelope, settings.type_header, settings.type_field) or "unknown"
    timestamp = delivery.header(settings.timestamp_header.lower()) if settings.timestamp_header else None
    body = envelope if isinstance(envelope, dict) else {"value": envelope}
    event = CanonicalEvent(
        id=event_id_for(connection.tenant_id, connection.id, source_event_id),
        tenant_id=connection.tenant_id,
        source=connection.id,
        source_event_id=source_event_id,
        event_type=event_type,
        occurred_at=timestamp_or(int(timestamp) if timestamp else None, delivery.received_at),
        received_at=format_timestamp(delivery.received_at),
        actor_type="provider",
        actor_id=connection.id,
        channel=Channel.WEBHOOK,
        payload=body,
    )
    return NewEvent(event=event)
