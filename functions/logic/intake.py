"""Webhook intake: connection, source address, size, signature, mapping, conditional put — in
that order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel

from functions import jsonutil
from functions.errors import PayloadTooLarge, SignatureError, UnknownConnection
from functions.logic.secret_checks import usable_secrets
from functions.logic.source_ips import source_admitted
from functions.observability import count_by_source, logger, metrics
from functions.ports.events import EventWriter
from functions.ports.polling import SecretReader
from functions.ports.registry import Connections
from functions.providers import WEBHOOK_SCHEMES
from functions.providers.base import Delivery

# A synchronous Lambda invocation carries at most 6 MB of request event; the body is the
# bulk of it. The local gateway enforces the same limit on the whole event.
MAX_BODY_BYTES = 6 * 1024 * 1024


class IntakeResult(BaseModel):
    id: str
    duplicate: bool


def receive_webhook(
    connection_id: str,
    headers: Mapping[str, str],
    body: bytes,
    received_at: datetime,
    *,
    config: Connections,
    secrets: SecretReader,
    store: EventWriter,
    source_ip: str | None = None,
) -> IntakeResult:
    connection = config.connection(connection_id)
    if connection is None or not connection.receives_webhooks:
        raise UnknownConnection(f"no webhook connection named {connection_id!r}")
    if not source_admitted(connection.allowed_source_ips, source_ip):
        # Answered as an unknown connection: a sender outside the list learns nothing more.
        metrics.add_metric(name="SourceIpRefused", unit="Count", value=1)
        logger.warning(
            "webhook refused: source address not allowed",
            extra={"connection": connection.id, "source_ip": source_ip},
        )
        raise UnknownConnection(f"no webhook connection named {connection_id!r}")
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    scheme = WEBHOOK_SCHEMES[connection.provider]
    delivery = Delivery(
        headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=received_at
    )
    try:
        # A standard-webhooks connection may verify by public keys alone (no secret to read).
        keys = secrets.resolve_all(connection.secrets) if connection.secrets else []
        scheme.verify(delivery, usable_secrets(connection.id, keys) if keys else [], connection)
    except SignatureError as error:
        metrics.add_metric(name="SignatureRejected", unit="Count", value=1)
        logger.warning("webhook rejected", extra={"connection": connection.id, "reason": error.message})
        raise
    new = scheme.map(jsonutil.loads(body), delivery, connection)
    result = store.put(new)
    event = new.event
    metrics.add_metric(name="DuplicateEvents" if result.duplicate else "EventsStored", unit="Count", value=1)
    if not result.duplicate:
        count_by_source(event.source)
    # What a log line would say rides on the invocation's metric document: one line per webhook.
    for key, value in (("connection", connection.id), ("event_id", event.id), ("source", event.source),
                       ("event_type", event.event_type), ("correlation_id", event.correlation_id),
                       ("duplicate", result.duplicate)):  # fmt: skip
        if value is not None:
            metrics.add_metadata(key=key, value=value)
    return IntakeResult(id=result.event_id, duplicate=result.duplicate)
