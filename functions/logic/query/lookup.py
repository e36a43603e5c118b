"""One event by its provider's id: ``GET /api/v1/events?source=&source_event_id=``.

Our id of an event is derived from (tenant, source, provider id) (``event_id_for``), so the
lookup reads that one item by key: no index, no counter. Another tenant's event with the same
provider id has another id, so it is never found. The answer keeps the list's shape (one event
or none), and the list's other filters apply to that event.
"""

from __future__ import annotations

from functions.logic.query.cursor import decode_cursor, query_fingerprint
from functions.logic.query.requests import EventPage, ListFilters, Page
from functions.models.event import CanonicalEvent, event_id_for, parse_timestamp
from functions.ports.index import EventIndexPort


def matches(event: CanonicalEvent, filters: ListFilters) -> bool:
    """Whether the event passes the list's filters (as the indexes would select it)."""
    moment = parse_timestamp(event.occurred_at)
    resource_id = event.resource_id if event.resource_type else None  # as the resource index holds it
    return (
        event.source == filters.source
        and (not filters.event_type or event.event_type == filters.event_type)
        and (not filters.resource_type or event.resource_type == filters.resource_type)
        and (not filters.resource_id or resource_id == filters.resource_id)
        and (filters.start is None or moment >= filters.start)
        and (filters.end is None or moment < filters.end)
    )


def by_source_id(tenant_id: str, filters: ListFilters, page: Page, index: EventIndexPort) -> EventPage:
    assert filters.source and filters.source_event_id
    if page.cursor:  # a lookup never issues one: any cursor belongs to another query (422)
        decode_cursor(page.cursor, query_fingerprint("events", filters))
    event_id = event_id_for(tenant_id, filters.source, filters.source_event_id)
    found = [e for e in index.fetch([event_id]) if e.tenant_id == tenant_id and matches(e, filters)]
    return EventPage(
        events=found[page.offset : page.offset + page.limit],
        has_next=False,
        limit=page.limit,
        offset=page.offset,
        total=len(found),
    )
