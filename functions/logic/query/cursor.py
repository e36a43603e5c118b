"""Opaque cursors: the position below which the next page starts, bound to the query that issued it.

A cursor is URL-safe base64 of ``{"p": position, "f": query fingerprint, "c": check}``. The
position is the sort value (``{occurredAt}#{id}``) of the last event shown; it is the position
of every partition the list reads too (every time-index shard resumes strictly below it), as
sort values are unique. The check is a digest of the fingerprint and the position, so a cursor
that was cut, edited or built by hand is refused (422) rather than read from wherever it points.
It is not signed with a secret: a client that rebuilds the digest can start its own tenant's list
at a moment of its choosing, which ``to`` lets it do anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from functions.logic.query.requests import InvalidQuery, ListFilters

_MAX_POSITION = 300


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


def _check(position: str, fingerprint: str) -> str:
    return hashlib.sha256(f"cursor\x1f{fingerprint}\x1f{position}".encode()).hexdigest()[:16]


def encode_cursor(position: str, fingerprint: str) -> str:
    data = {"p": position, "f": fingerprint, "c": _check(position, fingerprint)}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> str:
    not_issued = InvalidQuery(("query", "cursor"), "cursor is not one this API issued")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        position, owner, check = data["p"], data["f"], data["c"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise not_issued from None
    if not all(isinstance(value, str) for value in (position, owner, check)):
        raise not_issued
    if owner != fingerprint:
        raise InvalidQuery(("query", "cursor"), "cursor belongs to a different query")
    if (
        "#" not in position
        or len(position) > _MAX_POSITION
        or not hmac.compare_digest(check, _check(position, fingerprint))
    ):
        raise not_issued
    return position
