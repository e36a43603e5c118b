"""Opaque cursors: the position below which the next page starts, bound to the query that issued it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from functions.logic.query.requests import InvalidQuery, ListFilters


def query_fingerprint(route: str, filters: ListFilters | None) -> str:
    parts = [route]
    if filters is not None:
        parts += [
            filters.event_type or "",
            filters.resource_type or "",
            filters.resource_id or "",
            filters.start.isoformat() if filters.start else "",
            filters.to.isoformat() if filters.to else "",
        ]
        if filters.source or filters.source_event_id:  # only then: earlier cursors stay valid
            parts += [filters.source or "", filters.source_event_id or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def encode_cursor(position: str, fingerprint: str) -> str:
    raw = json.dumps({"p": position, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        position, owner = data["p"], data["f"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise InvalidQuery(("query", "cursor"), "cursor is not one this API issued") from None
    if not isinstance(position, str) or "#" not in position or len(position) > 300 or owner != fingerprint:
        raise InvalidQuery(("query", "cursor"), "cursor belongs to a different query")
    return position
