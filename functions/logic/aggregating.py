"""Exact counts of a tenant's events, kept in counter items and combined over any time range.

Counting (the aggregator, on the table's stream): every stored event adds 1 to a handful of
counters of its tenant:

* time buckets: the month, day, hour and minute it occurred in;
* its correlation (``/correlation/{id}`` totals) and its resource id (``/resource/...`` totals).

A small item per tenant keeps the set of days that have events. Adding a day to a set is
idempotent, so it is written before the counts, outside their transaction.

Each counter item holds ``n`` (all events) and one number per key: ``et`` event type,
``at`` actor type, ``rt`` resource type, ``x`` event type × resource type (totals of a list
filtered by both), and per actor ``an`` total, ``as`` successes, ``af`` failures.

Exactly once: the counters of an event are added in the same DynamoDB transaction that puts
the event's ``counted`` marker under the condition that it does not exist yet. A batch
delivered twice, or bisected and retried, finds the markers and adds nothing again. Events of
one batch share a transaction (up to DynamoDB's 100 items), so a busy bucket is written once
per batch rather than once per event.

Reading (``/aggregate``, ``/stats/by-actor``, list totals): a range ``[from, to]`` is cut
into the largest aligned buckets that fit (months, then days, hours and minutes towards the
edges) and the raw events of the two sub-minute edges. Buckets of days without events are
not read at all. A range without bounds is the sum of the month buckets of every month with
events.
"""

from __future__ import annotations

import calendar
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from functions.errors import StoreUnavailable
from functions.models.event import format_timestamp, parse_timestamp

# An event type's outcome is its last word (split on ".", "_", "-", ":", "/"):
# "classify_run.processed" -> processed (success), "analysis.analysis_finished" -> finished
# (success), "workflow_run.failed" -> failed (failure), "webset.created" -> neither.
SUCCESS_WORDS = frozenset({"completed", "processed", "succeeded", "finished"})
FAILURE_WORDS = frozenset({"failed", "error", "rejected"})
# The actor type of an event that names an actor id but no actor type.
UNKNOWN_ACTOR_TYPE = "unknown"
# A DynamoDB transaction holds at most 100 items (markers plus counter updates).
MAX_TRANSACTION_ITEMS = 100

_WORD_SPLIT = re.compile(r"[._:/-]+")


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


def outcome_of(event_type: str) -> Outcome | None:
    words = [w for w in _WORD_SPLIT.split(event_type.lower()) if w]
    last = words[-1] if words else ""
    if last in SUCCESS_WORDS:
        return Outcome.SUCCESS
    if last in FAILURE_WORDS:
        return Outcome.FAILURE
    return None


@dataclass(frozen=True)
class Counted:
    """The facts of one stored event that its counters need."""

    event_id: str
    tenant_id: str
    event_type: str
    occurred_at: str
    actor_type: str | None = None
    actor_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    correlation_id: str | None = None


# -- counter names ---------------------------------------------------------------------------


def dimension(prefix: str, *parts: str) -> str:
    """A counter attribute: ``et:["classify_run.processed"]`` (JSON, so any text is safe)."""
    return prefix + ":" + json.dumps(list(parts), separators=(",", ":"), ensure_ascii=False)


def parse_dimension(name: str) -> tuple[str, list[str]] | None:
    prefix, sep, rest = name.partition(":")
    if not sep:
        return None
    try:
        parts = json.loads(rest)
    except ValueError:
        return None
    return prefix, parts


TOTAL = "n"
DAYS = "days"


class Level(StrEnum):
    MONTH = "M"
    DAY = "d"
    HOUR = "h"
    MINUTE = "m"


class Scope(StrEnum):
    DAYS = "days"  # the set of days with events
    CORRELATION = "c"
    RESOURCE = "r"


@dataclass(frozen=True, order=True)
class CounterKey:
    """One counter item: a tenant's time bucket (``scope`` is a Level) or a named scope."""

    tenant_id: str
    scope: str
    name: str = ""


def days_key(tenant_id: str) -> CounterKey:
    return CounterKey(tenant_id, Scope.DAYS.value)


def correlation_key(tenant_id: str, correlation_id: str) -> CounterKey:
    return CounterKey(tenant_id, Scope.CORRELATION.value, correlation_id)


def resource_key(tenant_id: str, resource_id: str) -> CounterKey:
    return CounterKey(tenant_id, Scope.RESOURCE.value, resource_id)


_LEVEL_FORMAT = {
    Level.MONTH: "%Y-%m",
    Level.DAY: "%Y-%m-%d",
    Level.HOUR: "%Y-%m-%dT%H",
    Level.MINUTE: "%Y-%m-%dT%H:%M",
}


def bucket_name(level: Level, moment: datetime) -> str:
    # The year is padded by hand (strftime gives "1", not "0001"), as in event timestamps.
    return f"{moment.year:04d}" + moment.strftime(_LEVEL_FORMAT[level].removeprefix("%Y"))


@dataclass
class Delta:
    counts: Counter[str] = field(default_factory=Counter)
    sets: dict[str, set[str]] = field(default_factory=dict)

    def add_set(self, name: str, value: str) -> None:
        self.sets.setdefault(name, set()).add(value)

    def merge(self, other: Delta) -> None:
        self.counts.update(other.counts)
        for name, values in other.sets.items():
            self.sets.setdefault(name, set()).update(values)


def event_counts(event: Counted) -> Counter[str]:
    """What one event adds to each of its time buckets."""
    counts: Counter[str] = Counter({TOTAL: 1, dimension("et", event.event_type): 1})
    if event.actor_type:
        counts[dimension("at", event.actor_type)] += 1
    if event.resource_type:
        counts[dimension("rt", event.resource_type)] += 1
        counts[dimension("x", event.event_type, event.resource_type)] += 1
    if event.actor_id:
        actor = (event.actor_type or UNKNOWN_ACTOR_TYPE, event.actor_id)
        counts[dimension("an", *actor)] += 1
        outcome = outcome_of(event.event_type)
        if outcome is Outcome.SUCCESS:
            counts[dimension("as", *actor)] += 1
        elif outcome is Outcome.FAILURE:
            counts[dimension("af", *actor)] += 1
    return counts


def counter_updates(events: Iterable[Counted]) -> dict[CounterKey, Delta]:
    """Every counter the events touch, with what they add to it."""
    updates: dict[CounterKey, Delta] = {}

    def touch(key: CounterKey) -> Delta:
        return updates.setdefault(key, Delta())

    for event in events:
        moment = parse_timestamp(event.occurred_at)
        counts = event_counts(event)
        for level in Level:
            touch(CounterKey(event.tenant_id, level.value, bucket_name(level, moment))).counts.update(counts)
        if event.correlation_id:
            touch(correlation_key(event.tenant_id, event.correlation_id)).counts[TOTAL] += 1
        if event.resource_type and event.resource_id:
            resource = touch(resource_key(event.tenant_id, event.resource_id)).counts
            resource[TOTAL] += 1
            resource[dimension("rt", event.resource_type)] += 1
            resource[dimension("x", event.event_type, event.resource_type)] += 1
    return updates


# -- counting a stream batch -------------------------------------------------------------------


class CounterWriter(Protocol):
    def already_counted(self, event_ids: Sequence[str]) -> set[str]:
        """The ids among these whose ``counted`` marker exists (a cheap read before writing)."""
        ...

    def note_days(self, tenant_id: str, days: set[str]) -> None:
        """Add days to the tenant's set of days with events (idempotent)."""
        ...

    def apply(self, events: Sequence[Counted], updates: Mapping[CounterKey, Delta]) -> set[str]:
        """Put the events' markers and add the updates in one transaction.

        Returns the ids of events already counted (nothing was written then); raises
        StoreUnavailable when the transaction could not be applied."""
        ...


def days_of(events: Iterable[Counted]) -> dict[str, set[str]]:
    """The days each tenant's events occurred on."""
    found: dict[str, set[str]] = {}
    for event in events:
        found.setdefault(event.tenant_id, set()).add(event.occurred_at[:10])
    return found


def transaction_groups(events: Sequence[Counted]) -> Iterator[list[Counted]]:
    """Consecutive events grouped so that markers plus touched counters fit one transaction."""
    group: list[Counted] = []
    keys: set[CounterKey] = set()
    for event in events:
        event_keys = set(counter_updates([event]))
        if group and len(group) + 1 + len(keys | event_keys) > MAX_TRANSACTION_ITEMS:
            yield group
            group, keys = [], set()
        group.append(event)
        keys |= event_keys
    if group:
        yield group


def count_events(events: Sequence[Counted], counters: CounterWriter) -> int:
    """Count each event exactly once; returns how many were newly counted."""
    unique = list({event.event_id: event for event in events}.values())
    # A replayed batch is mostly counted already: skip those before any transaction (the
    # transaction's conditions still decide, should two deliveries race).
    seen = counters.already_counted([event.event_id for event in unique]) if unique else set()
    unique = [event for event in unique if event.event_id not in seen]
    for tenant_id, days in sorted(days_of(unique).items()):
        counters.note_days(tenant_id, days)  # first: a counted event's day is always listed
    counted = 0
    for group in transaction_groups(unique):
        remaining = group
        while remaining:
            already = counters.apply(remaining, counter_updates(remaining))
            if not already:
                counted += len(remaining)
                break
            remaining = [event for event in remaining if event.event_id not in already]
    return counted


@dataclass(frozen=True)
class StreamEntry:
    """One stream record: its sequence number and, for a newly inserted event, its facts."""

    sequence_number: str
    event: Counted | None


def count_stream_batch(entries: Sequence[StreamEntry], counters: CounterWriter) -> str | None:
    """Count a stream batch in order. Returns the sequence number of the first record not
    counted (Lambda retries from there), or None when the whole batch is counted."""
    pending: list[StreamEntry] = []

    def flush() -> str | None:
        events = [entry.event for entry in pending if entry.event is not None]
        try:
            count_events(events, counters)
        except StoreUnavailable:
            return pending[0].sequence_number
        pending.clear()
        return None

    for entry in entries:
        pending.append(entry)
        if sum(e.event is not None for e in pending) >= MAX_TRANSACTION_ITEMS // 2:
            failed = flush()
            if failed:
                return failed
    return flush() if pending else None


# -- ranges ------------------------------------------------------------------------------------

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
LATEST = datetime.max.replace(tzinfo=UTC)


def later(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, or the latest representable moment where that would overflow."""
    try:
        return moment + delta
    except OverflowError:
        return LATEST


def _floor(moment: datetime, level: Level) -> datetime:
    if level is Level.MONTH:
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if level is Level.DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if level is Level.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)


def _length(moment: datetime, level: Level) -> timedelta:
    if level is Level.MONTH:
        return DAY * calendar.monthrange(moment.year, moment.month)[1]
    return {Level.DAY: DAY, Level.HOUR: HOUR, Level.MINUTE: MINUTE}[level]


@dataclass(frozen=True)
class Bucket:
    level: Level
    start: datetime

    @property
    def name(self) -> str:
        return bucket_name(self.level, self.start)

    @property
    def end(self) -> datetime:
        return later(self.start, _length(self.start, self.level))

    def days(self) -> Iterator[str]:
        day = self.start
        while day < self.end:
            yield bucket_name(Level.DAY, day)
            if self.level is not Level.MONTH:
                return
            day = later(day, DAY)


@dataclass(frozen=True)
class RangePlan:
    """A half-open range ``[start, end)`` as whole buckets plus raw sub-minute edges."""

    buckets: list[Bucket]
    edges: list[tuple[datetime, datetime]]


def plan_range(start: datetime, end: datetime, days_with_events: set[str] | None = None) -> RangePlan:
    """The fewest aligned buckets covering ``[start, end)``; days without events are skipped."""
    if end <= start:
        return RangePlan([], [])
    inner_start = _floor(start, Level.MINUTE)
    if inner_start < start:
        inner_start = later(inner_start, MINUTE)
    inner_end = _floor(end, Level.MINUTE)
    if inner_start >= inner_end:
        edges = [(start, end)]
        buckets: list[Bucket] = []
    else:
        edges = [(a, b) for a, b in ((start, inner_start), (inner_end, end)) if a < b]
        buckets = []
        position = inner_start
        while position < inner_end:
            for level in Level:  # largest first
                following = later(position, _length(position, level))
                if _floor(position, level) == position and following <= inner_end:
                    buckets.append(Bucket(level, position))
                    position = following
                    break
    if days_with_events is not None:
        buckets = [b for b in buckets if any(day in days_with_events for day in b.days())]
        edges = [(a, b) for a, b in edges if bucket_name(Level.DAY, a) in days_with_events]
    return RangePlan(buckets, edges)


def plan_over_days(start: datetime, end: datetime, days: set[str]) -> RangePlan:
    """``plan_range`` over the months that hold events only: the same buckets and edges, planned
    in time proportional to those months however wide the range (year 1 to 9999 included)."""
    buckets: list[Bucket] = []
    edges: list[tuple[datetime, datetime]] = []
    for month in sorted({day[:7] for day in days}):
        month_start = _month_start(month)
        piece = plan_range(
            max(start, month_start), min(end, later(month_start, _length(month_start, Level.MONTH))), days
        )
        buckets += piece.buckets
        edges += piece.edges
    return RangePlan(buckets, edges)


def _month_start(month: str) -> datetime:
    return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)


def days_with_events(tenant_id: str, counters: CounterReader) -> set[str]:
    found = counters.read([days_key(tenant_id)]).get(days_key(tenant_id))
    return set(found.sets.get(DAYS, set())) if found else set()


def bucket_key(tenant_id: str, bucket: Bucket) -> CounterKey:
    return CounterKey(tenant_id, bucket.level.value, bucket.name)


def day_bounds(days: Iterable[str]) -> tuple[datetime, datetime] | None:
    """``[first day 00:00, day after the last)`` of a set of ``yyyy-mm-dd`` days."""
    ordered = sorted(days)
    if not ordered:
        return None
    first = datetime.strptime(ordered[0], "%Y-%m-%d").replace(tzinfo=UTC)
    last = datetime.strptime(ordered[-1], "%Y-%m-%d").replace(tzinfo=UTC)
    return first, later(last, DAY)


def iso(moment: datetime) -> str:
    return format_timestamp(moment)


# -- combining ---------------------------------------------------------------------------------


class CounterReader(Protocol):
    def read(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Delta]:
        """The counter items that exist among ``keys``."""
        ...


EdgeReader = Callable[[str, datetime, datetime], list[Counted]]
"""``(tenant, start, end)`` -> the tenant's events with ``start <= occurredAt < end``."""


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
        plan = RangePlan([Bucket(Level.MONTH, _month_start(m)) for m in months], [])
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


# -- rebuilding ---------------------------------------------------------------------------------


class CounterRebuildTarget(Protocol):
    def replace_all(self, values: Mapping[CounterKey, Delta], tenant_id: str | None) -> int:
        """Make the stored counters exactly ``values`` (of one tenant, or of every tenant)."""
        ...

    def mark_counted(self, event_ids: Iterable[str]) -> None:
        """Put the ``counted`` marker of each event (so a later stream delivery adds nothing)."""
        ...


@dataclass(frozen=True)
class RebuildResult:
    events: int
    counters: int


def rebuild_counters(
    events: Iterable[tuple[Counted, str | None]],
    target: CounterRebuildTarget,
    *,
    tenant_id: str | None = None,
    mark_received_after: str | None = None,
) -> RebuildResult:
    """Recompute every counter from the events (with their receive times) and replace the
    stored ones: of one tenant, or of every tenant (stale counter items are deleted).

    Events received after ``mark_received_after`` may still have stream records on their way;
    they get their ``counted`` marker so the aggregator does not add them a second time."""
    values: dict[CounterKey, Delta] = {}
    recent: list[str] = []
    seen = 0
    for event, received_at in events:
        if tenant_id is not None and event.tenant_id != tenant_id:
            continue
        seen += 1
        for key, delta in counter_updates([event]).items():
            values.setdefault(key, Delta()).merge(delta)
        values.setdefault(days_key(event.tenant_id), Delta()).add_set(DAYS, event.occurred_at[:10])
        if mark_received_after is not None and (received_at is None or received_at >= mark_received_after):
            recent.append(event.event_id)
    target.mark_counted(recent)
    written = target.replace_all(values, tenant_id)
    return RebuildResult(events=seen, counters=written)


def default_mark_cutoff(now: datetime) -> str:
    """Stream records live 24 hours: events received in the last two days get markers."""
    return iso(now - 2 * DAY)
