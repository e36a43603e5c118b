"""The list endpoints the incremental sync reads: VAI's events API and Exa's events list.

Each page is checked whole before any of it is stored: the envelope's fields, then every
event through the provider's mapper (the same mapper as the webhook path, so ids agree).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from functions.adapters.http_client import HttpClient, HttpResponse, ProviderError
from functions.errors import MalformedPayload
from functions.logic.polling.model import MalformedPage, Page
from functions.models.config import Connection
from functions.models.event import Channel, NewEvent, format_timestamp, utcnow
from functions.providers import exa, vai
from functions.redaction import redact_url

VAI_EVENTS_PATH = "/api/v1/events"
EXA_EVENTS_PATH = "/v0/events"


def _page_json(response: HttpResponse, where: str) -> dict[str, Any]:
    if response.status != 200:
        raise ProviderError(f"{where} answered {response.status}")
    try:
        body = response.json()
    except MalformedPayload as error:
        raise MalformedPage(f"{where}: {error.message}") from None
    if not isinstance(body, dict):
        raise MalformedPage(f"{where}: the page is not a JSON object")
    return body


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedPage(
            f"{where}: the page's '{name}' is missing or not a {getattr(kind, '__name__', kind)}"
        )
    return value


def _map_all(items: list[Any], mapper: Callable[[Any], NewEvent], where: str) -> list[NewEvent]:
    mapped = []
    for index, item in enumerate(items):
        try:
            mapped.append(mapper(item))
        except MalformedPayload as error:
            raise MalformedPage(f"{where}: event {index} of the page: {error.message}") from None
    return mapped


class VaiEvents:
    """``GET {base}/api/v1/events?from&to&limit&offset`` with ``X-API-Key``; newest first."""

    def __init__(self, connection: Connection, api_key: str, http: HttpClient) -> None:
        assert connection.poll is not None
        self.connection = connection
        self.poll = connection.poll
        self.url = self.poll.base_url + (self.poll.path or VAI_EVENTS_PATH)
        self.where = redact_url(self.url)
        self.headers = {"X-API-Key": api_key}
        self.http = http

    def fetch(
        self, start: datetime, end: datetime, position: int | str | None, budget_seconds: float
    ) -> Page:
        offset = int(position or 0)
        params: dict[str, str | int] = {
            "from": format_timestamp(start),
            "to": format_timestamp(end),
            "limit": self.poll.page_size,
            "offset": offset,
        }
        response = self.http.get(self.url, params=params, headers=self.headers, budget_seconds=budget_seconds)
        where = f"{self.where} (offset {offset})"
        body = _page_json(response, where)
        items = _field(body, "events", list, where)
        has_next = _field(body, "hasNext", bool, where)
        received_at = utcnow()
        events = _map_all(items, lambda item: vai.map_event(item, self.connection, received_at), where)
        if has_next and not items:
            raise MalformedPage(f"{where}: hasNext is true on an empty page")
        return Page(events, offset + len(items) if has_next else None)


class ExaEvents:
    """``GET {base}/v0/events?createdAfter&createdBefore&limit&cursor`` with ``x-api-key``."""

    def __init__(self, connection: Connection, api_key: str, http: HttpClient) -> None:
        assert connection.poll is not None
        self.connection = connection
        self.poll = connection.poll
        self.url = self.poll.base_url + (self.poll.path or EXA_EVENTS_PATH)
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
        body = _page_json(response, where)
        items = _field(body, "data", list, where)
        has_more = _field(body, "hasMore", bool, where)
        cursor = body.get("nextCursor")
        if has_more and (not isinstance(cursor, str) or not cursor):
            raise MalformedPage(f"{where}: hasMore is true but nextCursor is missing")
        if has_more and cursor == position:
            raise MalformedPage(f"{where}: nextCursor repeats the cursor just read")
        received_at = utcnow()
        events = _map_all(
            items, lambda item: exa.map_event(item, self.connection, received_at, Channel.POLL), where
        )
        return Page(events, cursor if has_more else None)
