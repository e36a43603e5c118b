"""Reading counts over a range: a range's buckets plus its raw edges, combined into ``/aggregate``,
``/stats/by-actor`` and list totals. Buckets of days without events are not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from functions.logic.aggregating.counting import actor_counts, event_counts
from functions.logic.aggregating.ranges import Bucket, RangePlan, day_bounds, plan_over_days, start_of_month
from functions.models.counting import (
    ACTOR_FAILURES,
    ACTOR_SUCCESSES,
    ACTOR_TOTAL,
    DAYS,
    TOTAL,
    Actor,
    CounterKey,
    Level,
    days_key,
    parse_dimension,
)
from functions.ports.counters import ActorReader, CounterReader, EdgeReader


def days_with_events(tenant_id: str, counters: CounterReader) -> set[str]:
    found = counters.read([days_key(tenant_id)]).get(days_key(tenant_id))
    return set(found.sets.get(DAYS, set())) if found else set()


def bucket_key(tenant_id: str, bucket: Bucket) -> CounterKey:
    return CounterKey(tenant_id, bucket.level.value, bucket.name)


def _plan(tenant_id: str, start: datetime | None, end: datetime | None, counters: CounterReader) -> RangePlan:
    days = days_with_events(tenant_id, counters)
    known = day_bounds(days)
    if known is None:
        return RangePlan([], [])
    if start is None and end is None:
        months = sorted({day[:7] for day in days})
        return RangePlan([Bucket(Level.MONTH, start_of_month(m)) for m in months], [])
    return plan_over_days(start or known[0], end or known[1], days)


def range_counts(
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    counters: CounterReader,
    edges: EdgeReader,
) -> Counter[str]:
    """Exact counts of a tenant's events with ``start <= occurredAt < end`` (None: unbounded)."""
    plan = _plan(tenant_id, start, end, counters)
    totals: Counter[str] = Counter()
    for delta in counters.read([bucket_key(tenant_id, b) for b in plan.buckets]).values():
        totals.update(delta.counts)
    for edge_start, edge_end in plan.edges:
        for event in edges(tenant_id, edge_start, edge_end):
            totals.update(event_counts(event))
    return totals


def range_actor_counts(
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    counters: CounterReader,
    actors: ActorReader,
    edges: EdgeReader,
) -> dict[Actor, Counter[str]]:
    """Exact counts of each actor's events with ``start <= occurredAt < end``: the actor items
    of the range's buckets (a range read each), plus the raw sub-minute edges."""
    plan = _plan(tenant_id, start, end, counters)
    totals = actors.actors(tenant_id, [(bucket.level, bucket.name) for bucket in plan.buckets])
    for edge_start, edge_end in plan.edges:
        for event in edges(tenant_id, edge_start, edge_end):
            found = actor_counts(event)
            if found is not None:
                totals.setdefault(found[0], Counter()).update(found[1])
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


def actor_stats_of(counts: Mapping[Actor, Mapping[str, int]]) -> list[ActorStat]:
    stats = [
        ActorStat(
            actor[0],
            actor[1],
            int(c.get(ACTOR_TOTAL, 0)),
            int(c.get(ACTOR_SUCCESSES, 0)),
            int(c.get(ACTOR_FAILURES, 0)),
        )
        for actor, c in counts.items()
        if c.get(ACTOR_TOTAL, 0)
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
    actors: ActorReader,
    edges: EdgeReader,
) -> list[ActorStat]:
    return actor_stats_of(range_actor_counts(tenant_id, start, end, counters, actors, edges))
