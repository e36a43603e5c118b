"""Exa Websets: ``Exa-Signature: t=<unix>,v1=<hex>[,v1=...]`` over ``{t}.{raw body}``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from functions.errors import MalformedPage, SignatureError
from functions.models.config import Connection
from functions.models.event import CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp, utcnow
from functions.models.polling import Page
from functions.ports.polling import HttpSource
from functions.providers.base import (
    Delivery,
    check_timestamp,
    hmac_sha256,
    matches,
    optional_str,
    require_object,
    require_str,
    signing_keys,
    timestamp_or,
)
from functions.providers.paging import map_all, page_field, page_json
from functions.redaction import redact_url

SOURCE = "exa"
SIGNATURE_HEADER = "exa-signature"


def _parse_signature_header(value: str) -> tuple[str, list[str]]:
    timestamp = ""
    signatures: list[str] = []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t":
            timestamp = item
        elif key == "v1" and item:
            signatures.append(item.lower())
    if not timestamp or not signatures:
        raise SignatureError("Exa-Signature header needs t= and v1=")
    return timestamp, signatures


def verify(delivery: Delivery, secrets: Sequence[str]) -> None:
    timestamp, signatures = _parse_signature_header(delivery.require(SIGNATURE_HEADER))
    check_timestamp(timestamp, delivery.received_at)
    message = f"{timestamp}.".encode() + delivery.body
    expected = [hmac_sha256(key, message).hex() for key in signing_keys(secrets)]
    # Every pair is compared (no early exit on the first match) to keep timing independent.
    if not any([matches(e, s) for e in expected for s in signatures]):  # noqa: C419
        raise SignatureError("signature does not match")


def _correlation(data: dict[str, Any]) -> str | None:
    if data.get("object") == "webset":
        return optional_str(data, "id")
    return optional_str(data, "websetId") or optional_str(data, "id")


def map_event(envelope: Any, connection: Connection, received_at: datetime, channel: Channel) -> NewEvent:
    """Map an Exa event (webhook body or one item of ``GET /v0/events``) to the canonical event."""
    body = require_object(envelope, "Exa event")
    source_event_id = require_str(body, "id", "Exa event")
    event_type = require_str(body, "type", "Exa event")
    given = body.get("data")
    data: dict[str, Any] = given if isinstance(given, dict) else {}
    event = CanonicalEvent(
        id=event_id_for(connection.tenant_id, SOURCE, source_event_id),
        tenant_id=connection.tenant_id,
        source=SOURCE,
        source_event_id=source_event_id,
        event_type=event_type,
        occurred_at=timestamp_or(body.get("createdAt"), received_at),
        received_at=format_timestamp(received_at),
        resource_type=optional_str(data, "object"),
        resource_id=optional_str(data, "id"),
        correlation_id=_correlation(data),
        actor_type="provider",
        actor_id=connection.id,
        channel=channel,
        payload=body,
    )
    return NewEvent(event=event)


def map_webhook(envelope: Any, delivery: Delivery, connection: Connection) -> NewEvent:
    return map_event(envelope, connection, delivery.received_at, Channel.WEBHOOK)


# -- the events list, as the reconciling sync reads it -------------------------------------------

EVENTS_PATH = "/v0/events"


class ExaEvents:
    """``GET {base}/v0/events?createdAfter&createdBefore&limit&cursor`` with ``x-api-key``."""

    def __init__(self, connection: Connection, api_key: str, http: HttpSource) -> None:
        assert connection.poll is not None
        self.connection = connection
        self.poll = connection.poll
        self.url = self.poll.base_url + (self.poll.path or EVENTS_PATH)
        self.where = redact_url(self.url)
        self.headers = {"x-api-key": api_key}
        self.http = http

    def fetch(
        self, start: datetime, end: datetime, position: int | str | None, budget_seconds: float
    ) -> Page:
        params: dict[str, str | int] = {
            "createdAfter": format_timestamp(start),
            "createdBefore": format_timestamp(end),
            "limit": self.poll.page_size,
        }
        if position:
            params["cursor"] = str(position)
        response = self.http.get(self.url, params=params, headers=self.headers, budget_seconds=budget_seconds)
        where = f"{self.where} (page {'after a cursor' if position else 'one'})"
        body = page_json(response, where)
        items = page_field(body, "data", list, where)
        has_more = page_field(body, "hasMore", bool, where)
        cursor = body.get("nextCursor")
        if has_more and (not isinstance(cursor, str) or not cursor):
            raise MalformedPage(f"{where}: hasMore is true but nextCursor is missing")
        if has_more and cursor == position:
            raise MalformedPage(f"{where}: nextCursor repeats the cursor just read")
        received_at = utcnow()
        events = map_all(
            items, lambda item: map_event(item, self.connection, received_at, Channel.POLL), where
        )
        return Page(events, cursor if has_more else None)
