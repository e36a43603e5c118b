"""Reading counts over a range: a range's buckets plus its raw edges, combined into ``/aggregate``,
``/stats/by-actor`` and list totals. Buckets of days without events are not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from functions.logic.aggregating.counting import event_counts
from functions.logic.aggregating.ranges import Bucket, RangePlan, day_bounds, plan_over_days, start_of_month
from functions.models.counting import DAYS, TOTAL, CounterKey, Level, days_key, parse_dimension
from functions.ports.counters import CounterReader, EdgeReader


def days_with_events(tenant_id: str, counters: CounterReader) -> set[str]:
    found = counters.read([days_key(tenant_id)]).get(days_key(tenant_id))
    return set(found.sets.get(DAYS, set())) if found else set()


def bucket_key(tenant_id: str, bucket: Bucket) -> CounterKey:
    return CounterKey(tenant_id, bucket.level.value, bucket.name)


def range_counts(
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    counters: CounterReader,
    edges: EdgeReader,
) -> Counter[str]:
    """Exact counts of a tenant's events with ``start <= occurredAt < end`` (None: unbounded)."""
    days = days_with_events(tenant_id, counters)
    known = day_bounds(days)
    if known is None:
        return Counter()
    if start is None and end is None:
        months = sorted({day[:7] for day in days})
        plan = RangePlan([Bucket(Level.MONTH, start_of_month(m)) for m in months], [])
    else:
        plan = plan_over_days(start or known[0], end or known[1], days)
    totals: Counter[str] = Counter()
    for delta in counters.read([bucket_key(tenant_id, b) for b in plan.buckets]).values():
        totals.update(delta.counts)
    for edge_start, edge_end in plan.edges:
        for event in edges(tenant_id, edge_start, edge_end):
            totals.update(event_counts(event))
    return totals


def by_prefix(counts: Mapping[str, int], prefix: str) -> dict[tuple[str, ...], int]:
    found: dict[tuple[str, ...], int] = {}
    for name, value in counts.items():
        parsed = parse_dimension(name)
        if parsed and parsed[0] == prefix and value:
            found[tuple(parsed[1])] = found.get(tuple(parsed[1]), 0) + int(value)
    return found


@dataclass(frozen=True)
class Aggregate:
    total: int
    by_event_type: list[tuple[str, int]]
    by_actor_type: list[tuple[str, int]]
    by_resource_type: list[tuple[str, int]]


@dataclass(frozen=True)
class ActorStat:
    actor_type: str
    actor_id: str
    total: int
    successes: int
    failures: int


def _ranked(counts: Mapping[tuple[str, ...], int]) -> list[tuple[str, int]]:
    return sorted(((key[0], value) for key, value in counts.items()), key=lambda kv: (-kv[1], kv[0]))


def aggregate_of(counts: Mapping[str, int]) -> Aggregate:
    return Aggregate(
        total=int(counts.get(TOTAL, 0)),
        by_event_type=_ranked(by_prefix(counts, "et")),
        by_actor_type=_ranked(by_prefix(counts, "at")),
        by_resource_type=_ranked(by_prefix(counts, "rt")),
    )


def actor_stats_of(counts: Mapping[str, int]) -> list[ActorStat]:
    totals = by_prefix(counts, "an")
    successes = by_prefix(counts, "as")
    failures = by_prefix(counts, "af")
    stats = [
        ActorStat(key[0], key[1], total, successes.get(key, 0), failures.get(key, 0))
        for key, total in totals.items()
    ]
    return sorted(stats, key=lambda s: (-s.total, s.actor_type, s.actor_id))


def aggregate(
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    counters: CounterReader,
    edges: EdgeReader,
) -> Aggregate:
    return aggregate_of(range_counts(tenant_id, start, end, counters, edges))


def actor_stats(
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    counters: CounterReader,
    edges: EdgeReader,
) -> list[ActorStat]:
    return actor_stats_of(range_counts(tenant_id, start, end, counters, edges))
