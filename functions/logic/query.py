"""Listing a tenant's events: pick the index, walk it newest first, page, and count exactly.

Which index serves a list:

* ``resource_id`` given: the resource index, one partition per resource type (the
  ``resource_type`` given, or every type the resource's counter has seen); other filters
  are applied to that partition.
* else ``event_type`` given: the type index (``resource_type`` filtered).
* else: the time index, one partition per day, walked newest day first over the days that
  have events (the tenant's set of days, plus today), bounded by ``from``/``to``.

Every request reads at most ``offset + limit + 1`` matching index entries (plus any that a
filter drops), then fetches the page's events by id. ``cursor`` starts right below the last
event of the previous page, so its cost does not grow with depth. ``total`` comes from
counters where they can answer (see ``aggregating``), else from a COUNT query on the chosen
index partition.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import itertools
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol

from functions.errors import HubError
from functions.logic.aggregating import (
    MICROSECOND,
    TOTAL,
    CounterKey,
    CounterReader,
    Delta,
    EdgeReader,
    by_prefix,
    correlation_key,
    days_with_events,
    dimension,
    later,
    range_counts,
    resource_key,
)
from functions.models.event import CanonicalEvent

MAX_LIMIT = 100


class InvalidQuery(HubError):
    """A request the seed's contract refuses: answered 422 ``{"detail": [{loc, msg, type}]}``."""

    status_code = 422
    code = "invalid_query"

    def __init__(self, loc: Sequence[str | int], message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc = list(loc)
        self.kind = kind


class SourceKind(StrEnum):
    TIME = "time"  # one day of a tenant
    TYPE = "type"
    RESOURCE = "resource"
    CORRELATION = "correlation"


@dataclass(frozen=True)
class Source:
    """One index partition of a tenant: ``parts`` are the key values after the tenant."""

    kind: SourceKind
    tenant_id: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One index entry: enough to order, filter and fetch the event."""

    id: str
    position: str  # the index sort value "{occurredAt}#{id}": newest first = descending
    event_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None


class EventIndexPort(Protocol):
    def newest_first(
        self,
        source: Source,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        below: str | None = None,
        filters: Mapping[str, str] | None = None,
        want: int | None,
    ) -> Iterator[Entry]: ...

    def count(
        self,
        source: Source,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> int: ...

    def fetch(self, ids: Sequence[str]) -> list[CanonicalEvent]: ...


@dataclass(frozen=True)
class Page:
    limit: int = MAX_LIMIT
    offset: int = 0
    cursor: str | None = None


@dataclass(frozen=True)
class ListFilters:
    event_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    start: datetime | None = None  # "from", inclusive
    to: datetime | None = None  # "to", inclusive

    @property
    def end(self) -> datetime | None:
        """The exclusive end of the range."""
        return later(self.to, MICROSECOND) if self.to is not None else None


@dataclass
class EventPage:
    events: list[CanonicalEvent]
    has_next: bool
    limit: int
    offset: int
    total: int
    next_cursor: str | None = None


@dataclass
class _Memo:
    """Counter reads of one request, each key read at most once."""

    counters: CounterReader
    seen: dict[CounterKey, Delta | None] = field(default_factory=dict)

    def read(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Delta]:
        missing = [k for k in dict.fromkeys(keys) if k not in self.seen]
        if missing:
            found = self.counters.read(missing)
            for key in missing:
                self.seen[key] = found.get(key)
        return {k: d for k in keys if (d := self.seen.get(k)) is not None}

    def one(self, key: CounterKey) -> Delta | None:
        return self.read([key]).get(key)


# -- cursors -----------------------------------------------------------------------------------


def _fingerprint(route: str, filters: ListFilters | None) -> str:
    parts = [route]
    if filters is not None:
        parts += [
            filters.event_type or "",
            filters.resource_type or "",
            filters.resource_id or "",
            filters.start.isoformat() if filters.start else "",
            filters.to.isoformat() if filters.to else "",
        ]
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


# -- the walk ----------------------------------------------------------------------------------


def _walk_days(
    tenant_id: str, filters: ListFilters, below: str | None, counters: _Memo, today: date
) -> list[Source]:
    """The day partitions to walk, newest first: days with events (and today) within range."""
    days = days_with_events(tenant_id, counters)
    days.add(today.isoformat())
    if filters.start is not None:
        first = filters.start.astimezone(UTC).date().isoformat()
        days = {d for d in days if d >= first}
    if filters.to is not None:
        last = filters.to.astimezone(UTC).date().isoformat()
        days = {d for d in days if d <= last}
    if below is not None:
        days = {d for d in days if d <= below[:10]}
    return [Source(SourceKind.TIME, tenant_id, (day,)) for day in sorted(days, reverse=True)]


def _resource_types(tenant_id: str, filters: ListFilters, counters: _Memo) -> list[str]:
    if filters.resource_type:
        return [filters.resource_type]
    assert filters.resource_id is not None
    counter = counters.one(resource_key(tenant_id, filters.resource_id))
    if counter is None:
        return []
    return sorted(key[0] for key in by_prefix(counter.counts, "rt"))


def _plan(
    tenant_id: str, filters: ListFilters, below: str | None, counters: _Memo, today: date
) -> tuple[list[Source], bool, dict[str, str]]:
    """(sources, merge?, filters on top of the index): sources are merged when they overlap
    in time, else walked in order."""
    if filters.resource_id:
        sources = [
            Source(SourceKind.RESOURCE, tenant_id, (kind, filters.resource_id))
            for kind in _resource_types(tenant_id, filters, counters)
        ]
        extra = {"eventType": filters.event_type} if filters.event_type else {}
        return sources, True, extra
    extra = {"resourceType": filters.resource_type} if filters.resource_type else {}
    if filters.event_type:
        return [Source(SourceKind.TYPE, tenant_id, (filters.event_type,))], False, extra
    return _walk_days(tenant_id, filters, below, counters, today), False, extra


def _read(
    index: EventIndexPort,
    sources: list[Source],
    merge: bool,
    extra: Mapping[str, str],
    filters: ListFilters,
    below: str | None,
    want: int,
) -> list[Entry]:
    def walk(source: Source, wanted: int) -> Iterator[Entry]:
        return index.newest_first(
            source, start=filters.start, end=filters.end, below=below, filters=extra, want=wanted
        )

    if merge and len(sources) > 1:
        streams = [list(walk(source, want)) for source in sources]
        merged = heapq.merge(*streams, key=lambda e: e.position, reverse=True)
        return list(itertools.islice(merged, want))
    entries: list[Entry] = []
    for source in sources:
        entries.extend(walk(source, want - len(entries)))
        if len(entries) >= want:
            break
    return entries[:want]


def _page(
    index: EventIndexPort,
    sources: list[Source],
    merge: bool,
    extra: Mapping[str, str],
    filters: ListFilters,
    page: Page,
    fingerprint: str,
    total: int,
) -> EventPage:
    below = decode_cursor(page.cursor, fingerprint) if page.cursor else None
    want = page.offset + page.limit + 1
    if page.offset and not page.cursor and page.offset >= total:
        entries: list[Entry] = []  # past the end (total is exact): nothing to read, however deep
    else:
        entries = _read(index, sources, merge, extra, filters, below, want)
    shown = entries[page.offset : page.offset + page.limit]
    has_next = len(entries) > page.offset + page.limit
    events = index.fetch([entry.id for entry in shown])
    return EventPage(
        events=events,
        has_next=has_next,
        limit=page.limit,
        offset=page.offset,
        total=total,
        next_cursor=encode_cursor(shown[-1].position, fingerprint) if has_next and shown else None,
    )


def check_range(start: datetime | None, to: datetime | None) -> None:
    if start is not None and to is not None and start > to:
        raise InvalidQuery(("query", "from"), "'from' must not be after 'to'")


# -- totals ------------------------------------------------------------------------------------


def _list_total(
    tenant_id: str,
    filters: ListFilters,
    sources: list[Source],
    extra: Mapping[str, str],
    index: EventIndexPort,
    counters: _Memo,
    edges: EdgeReader,
) -> int:
    if filters.resource_id:
        if filters.start is None and filters.to is None:
            counter = counters.one(resource_key(tenant_id, filters.resource_id))
            if counter is None:
                return 0
            kinds = [s.parts[0] for s in sources]
            if filters.event_type:
                return sum(counter.counts.get(dimension("x", filters.event_type, k), 0) for k in kinds)
            return sum(counter.counts.get(dimension("rt", k), 0) for k in kinds)
        return sum(index.count(s, start=filters.start, end=filters.end, filters=extra) for s in sources)
    counts: Counter[str] = range_counts(tenant_id, filters.start, filters.end, counters, edges)
    if filters.event_type and filters.resource_type:
        return int(counts.get(dimension("x", filters.event_type, filters.resource_type), 0))
    if filters.event_type:
        return int(counts.get(dimension("et", filters.event_type), 0))
    if filters.resource_type:
        return int(counts.get(dimension("rt", filters.resource_type), 0))
    return int(counts.get(TOTAL, 0))


# -- the three lists ---------------------------------------------------------------------------


def list_events(
    tenant_id: str,
    filters: ListFilters,
    page: Page,
    index: EventIndexPort,
    counters: CounterReader,
    edges: EdgeReader,
    *,
    today: date | None = None,
) -> EventPage:
    """``GET /api/v1/events``: a tenant's events, newest first, filtered and paged."""
    check_range(filters.start, filters.to)
    memo = _Memo(counters)
    fingerprint = _fingerprint("events", filters)
    below = decode_cursor(page.cursor, fingerprint) if page.cursor else None
    sources, merge, extra = _plan(tenant_id, filters, below, memo, today or datetime.now(UTC).date())
    total = _list_total(tenant_id, filters, sources, extra, index, memo, edges)
    return _page(index, sources, merge, extra, filters, page, fingerprint, total)


def list_by_correlation(
    tenant_id: str, correlation_id: str, page: Page, index: EventIndexPort, counters: CounterReader
) -> EventPage:
    """``GET /api/v1/events/correlation/{id}``: one business flow's events, newest first."""
    counter = counters.read([correlation_key(tenant_id, correlation_id)])
    total = sum(int(d.counts.get(TOTAL, 0)) for d in counter.values())
    source = Source(SourceKind.CORRELATION, tenant_id, (correlation_id,))
    fingerprint = _fingerprint("correlation:" + correlation_id, None)
    return _page(index, [source], False, {}, ListFilters(), page, fingerprint, total)


def list_by_resource(
    tenant_id: str,
    resource_type: str,
    resource_id: str,
    page: Page,
    index: EventIndexPort,
    counters: CounterReader,
) -> EventPage:
    """``GET /api/v1/events/resource/{type}/{id}``: one resource's events, newest first."""
    counter = counters.read([resource_key(tenant_id, resource_id)])
    total = sum(int(d.counts.get(dimension("rt", resource_type), 0)) for d in counter.values())
    source = Source(SourceKind.RESOURCE, tenant_id, (resource_type, resource_id))
    fingerprint = _fingerprint(f"resource:{resource_type}:{resource_id}", None)
    return _page(index, [source], False, {}, ListFilters(), page, fingerprint, total)
