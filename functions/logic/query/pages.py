"""Walking the chosen partitions newest first and cutting one page.

Every request reads at most ``offset + limit + 1`` matching index entries (plus any that a
filter drops), then fetches the page's events by id. ``cursor`` starts right below the last
event of the previous page, so its cost does not grow with depth.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping

from functions.logic.query.cursor import decode_cursor, encode_cursor
from functions.logic.query.requests import EventPage, ListFilters, Page
from functions.models.listing import Entry, Source
from functions.ports.index import EventIndexPort


def read_entries(
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


def page_of(
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
        entries = read_entries(index, sources, merge, extra, filters, below, want)
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
