"""A list's exact ``total``: from counters where they can answer, else a COUNT query on the chosen
partitions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from functions.logic.aggregating.combining import range_counts
from functions.logic.query.plan import CounterMemo
from functions.logic.query.requests import ListFilters
from functions.models.counting import TOTAL, dimension, resource_key
from functions.models.listing import Source
from functions.ports.counters import EdgeReader
from functions.ports.index import EventIndexPort


def list_total(
    tenant_id: str,
    filters: ListFilters,
    sources: list[Source],
    extra: Mapping[str, str],
    index: EventIndexPort,
    counters: CounterMemo,
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
    if filters.source:
        return int(counts.get(dimension("src", filters.source), 0))
    if filters.event_type and filters.resource_type:
        return int(counts.get(dimension("x", filters.event_type, filters.resource_type), 0))
    if filters.event_type:
        return int(counts.get(dimension("et", filters.event_type), 0))
    if filters.resource_type:
        return int(counts.get(dimension("rt", filters.resource_type), 0))
    return int(counts.get(TOTAL, 0))
