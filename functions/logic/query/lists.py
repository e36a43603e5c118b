"""The three lists of the query API: ``/events``, ``/correlation/{id}`` and ``/resource/{type}/{id}``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from functions.logic.query.cursor import decode_cursor, query_fingerprint
from functions.logic.query.lookup import by_source_id
from functions.logic.query.pages import page_of
from functions.logic.query.plan import CounterMemo, plan_sources
from functions.logic.query.requests import EventPage, ListFilters, Page, check_range, check_source
from functions.logic.query.totals import list_total
from functions.models.counting import TOTAL, correlation_key, dimension, resource_key
from functions.models.listing import Source, SourceKind
from functions.ports.counters import CounterReader, EdgeReader
from functions.ports.index import EventIndexPort


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
    """``GET /api/v1/events``: a tenant's events, newest first, filtered and paged; with
    ``source`` and ``source_event_id``, the one event of that provider id (or none)."""
    check_range(filters.start, filters.to)
    check_source(filters)
    if filters.source_event_id:
        return by_source_id(tenant_id, filters, page, index)
    memo = CounterMemo(counters)
    fingerprint = query_fingerprint("events", filters)
    below = decode_cursor(page.cursor, fingerprint) if page.cursor else None
    sources, merge, extra = plan_sources(tenant_id, filters, below, memo, today or datetime.now(UTC).date())
    total = list_total(tenant_id, filters, sources, extra, index, memo, edges)
    if filters.source and total == 0:
        sources = []  # no event of this source is counted in the range: no index entry to read
    return page_of(index, sources, merge, extra, filters, page, fingerprint, total)


def list_by_correlation(
    tenant_id: str, correlation_id: str, page: Page, index: EventIndexPort, counters: CounterReader
) -> EventPage:
    """``GET /api/v1/events/correlation/{id}``: one business flow's events, newest first."""
    counter = counters.read([correlation_key(tenant_id, correlation_id)])
    total = sum(int(d.counts.get(TOTAL, 0)) for d in counter.values())
    source = Source(SourceKind.CORRELATION, tenant_id, (correlation_id,))
    fingerprint = query_fingerprint("correlation:" + correlation_id, None)
    return page_of(index, [source], False, {}, ListFilters(), page, fingerprint, total)


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
    fingerprint = query_fingerprint(f"resource:{resource_type}:{resource_id}", None)
    return page_of(index, [source], False, {}, ListFilters(), page, fingerprint, total)
