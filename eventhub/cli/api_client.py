"""The query API over HTTP: its answers as JSON, its failures as a CliError with an exit code
(401 -> 3, 404 -> 4, 400/422 -> 2, anything else and the network -> 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import urllib3

from eventhub.cli.errors import EXIT_AUTH, EXIT_BAD_INPUT, EXIT_NOT_FOUND, CliError
from eventhub.cli.target import Target, is_loopback

EVENTS_PATH = "/api/v1/events"


def describe_error(status: int, body: bytes) -> str:
    """An API error body in one readable line (422 detail lists, {error, message}, or text)."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), list):
        parts = []
        for item in data["detail"]:
            if not isinstance(item, dict):
                continue
            loc = [str(p) for p in item.get("loc", []) if p not in ("query", "path", "body")]
            msg = item.get("msg") or item.get("type") or "invalid"
            parts.append(f"{'.'.join(loc) or 'request'}: {msg}")
        if parts:
            return "; ".join(parts)
    if isinstance(data, dict):
        message = data.get("message") or data.get("detail") or data.get("error")
        if isinstance(message, str) and message:
            return message
    text = body.decode("utf-8", "replace").strip()[:200]
    return text or f"HTTP {status}"


class ApiClient:
    """The query API over HTTP. Raises CliError with a readable message for any failure."""

    def __init__(self, target: Target, *, timeout: float = 10.0) -> None:
        self.target = target
        self.http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=urllib3.Retry(total=2, connect=2, read=0, status=0, backoff_factor=0.2, redirect=0),
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.target.api_url}{path}" + (f"?{query}" if query else "")
        try:
            response = self.http.request(
                "GET",
                url,
                headers={"X-API-Key": self.target.api_key, "Accept": "application/json"},
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as error:
            hint = " (is `make run` running?)" if is_loopback(self.target.api_url) else ""
            reason = type(getattr(error, "reason", None) or error).__name__
            raise CliError(f"cannot reach {self.target.api_url} ({reason}){hint}") from None
        status = response.status
        if status == 401:
            raise CliError(f"unauthorized: {describe_error(status, response.data)}", EXIT_AUTH)
        if status == 404:
            raise CliError(f"not found: {describe_error(status, response.data)}", EXIT_NOT_FOUND)
        if status == 422 or status == 400:
            raise CliError(f"invalid request: {describe_error(status, response.data)}", EXIT_BAD_INPUT)
        if status >= 400:
            raise CliError(f"the API answered {status}: {describe_error(status, response.data)}")
        try:
            return json.loads(response.data)
        except ValueError:
            raise CliError(f"the API answered {status} with a body that is not JSON") from None

    def list_events(self, **params: Any) -> dict[str, Any]:
        return self.get(EVENTS_PATH, params)

    def get_event(self, event_id: str) -> dict[str, Any]:
        return self.get(f"{EVENTS_PATH}/{event_id}")

    def artifacts(self, event_id: str) -> list[dict[str, Any]] | None:
        """The event's artifacts, or None when the API has no artifacts route."""
        try:
            data = self.get(f"{EVENTS_PATH}/{event_id}/artifacts")
        except CliError as error:
            if error.exit_code in (EXIT_NOT_FOUND, EXIT_BAD_INPUT):
                return None
            raise
        items = data.get("artifacts") if isinstance(data, dict) else data
        return items if isinstance(items, list) else None


def iter_pages(client: ApiClient, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every event matching ``params``, newest first, page by page (cursor when offered)."""
    cursor: str | None = None
    offset = 0
    while True:
        page = client.list_events(**params, limit=100, offset=None if cursor else offset, cursor=cursor)
        events = page.get("events", [])
        yield from events
        if not page.get("hasNext") or not events:
            return
        cursor = page.get("nextCursor")
        offset += len(events)
