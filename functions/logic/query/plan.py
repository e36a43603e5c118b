"""Which index partitions serve a list.

* ``resource_id`` given: the resource index, one partition per resource type (the
  ``resource_type`` given, or every type the resource's counter has seen); other filters
  are applied to that partition.
* else ``event_type`` given: the type index (``resource_type`` filtered).
* else: the time index, one partition per day, walked newest day first over the days that
  have events (the tenant's set of days, plus today), bounded by ``from``/``to``; ``source``
  (which combines with nothing else) and ``resource_type`` are filtered on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date

from functions.logic.aggregating.combining import by_prefix, days_with_events
from functions.logic.query.requests import ListFilters
from functions.models.counting import CounterKey, Delta, resource_key
from functions.models.listing import Source, SourceKind
from functions.ports.counters import CounterReader


@dataclass
class CounterMemo:
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


def walk_days(
    tenant_id: str, filters: ListFilters, below: str | None, counters: CounterMemo, today: date
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


def resource_types(tenant_id: str, filters: ListFilters, counters: CounterMemo) -> list[str]:
    if filters.resource_type:
        return [filters.resource_type]
    assert filters.resource_id is not None
    counter = counters.one(resource_key(tenant_id, filters.resource_id))
    if counter is None:
        return []
    return sorted(key[0] for key in by_prefix(counter.counts, "rt"))


def plan_sources(
    tenant_id: str, filters: ListFilters, below: str | None, counters: CounterMemo, today: date
) -> tuple[list[Source], bool, dict[str, str]]:
    """(sources, merge?, filters on top of the index): sources are merged when they overlap
    in time, else walked in order."""
    if filters.source:
        return walk_days(tenant_id, filters, below, counters, today), False, {"source": filters.source}
    if filters.resource_id:
        sources = [
            Source(SourceKind.RESOURCE, tenant_id, (kind, filters.resource_id))
            for kind in resource_types(tenant_id, filters, counters)
        ]
        extra = {"eventType": filters.event_type} if filters.event_type else {}
        return sources, True, extra
    extra = {"resourceType": filters.resource_type} if filters.resource_type else {}
    if filters.event_type:
        return [Source(SourceKind.TYPE, tenant_id, (filters.event_type,))], False, extra
    return walk_days(tenant_id, filters, below, counters, today), False, extra
