"""Counting a stream batch exactly once: what each event adds to its counters, and each
counter written once per batch with what the batch's records add to it.

Every stored event adds 1 to a handful of counters of its tenant: the month, day, hour and
minute it occurred in, its actor in each of those four (an item per actor and bucket, so a
bucket holds any number of actors), its correlation and its resource id. A small item per
tenant keeps the set of days that have events; adding a day is idempotent, so it is written
before the counts.

Exactly once without a transaction per event: the stream delivers each shard's records in
order, and every counter remembers, per shard, the position of the last record it has added
(``CounterWriter.add_once``). A batch delivered again, bisected, raced by a second delivery or
retried from a later record finds the counters it already reached at or past its records and
adds to them only what is above; the others get the whole of their contributions. The cost is
one write per counter a batch touches, whatever the number of its events.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from functions.errors import StoreUnavailable
from functions.models.counting import (
    ACTOR_FAILURES,
    ACTOR_SUCCESSES,
    ACTOR_TOTAL,
    TOTAL,
    Actor,
    Contribution,
    Counted,
    CounterKey,
    Delta,
    Level,
    actor_key,
    bucket_name,
    correlation_key,
    dimension,
    resource_key,
    sequence_position,
)
from functions.models.event_values import parse_timestamp
from functions.ports.counters import CounterWriter

# An event type's outcome is its last word (split on ".", "_", "-", ":", "/"):
# "classify_run.processed" -> processed (success), "analysis.analysis_finished" -> finished
# (success), "workflow_run.failed" -> failed (failure), "webset.created" -> neither.
SUCCESS_WORDS = frozenset({"completed", "processed", "succeeded", "finished"})


FAILURE_WORDS = frozenset({"failed", "error", "rejected"})


# The actor type of an event that names an actor id but no actor type.
UNKNOWN_ACTOR_TYPE = "unknown"


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


def event_counts(event: Counted) -> Counter[str]:
    """What one event adds to each of its time buckets (its actor counts in items of its own)."""
    counts: Counter[str] = Counter({TOTAL: 1, dimension("et", event.event_type): 1})
    if event.source:
        counts[dimension("src", event.source)] += 1
    if event.actor_type:
        counts[dimension("at", event.actor_type)] += 1
    if event.resource_type:
        counts[dimension("rt", event.resource_type)] += 1
        counts[dimension("x", event.event_type, event.resource_type)] += 1
    return counts


def actor_counts(event: Counted) -> tuple[Actor, Counter[str]] | None:
    """The event's actor and what the event adds to that actor's counts; None without an actor."""
    if not event.actor_id:
        return None
    counts: Counter[str] = Counter({ACTOR_TOTAL: 1})
    outcome = outcome_of(event.event_type)
    if outcome is Outcome.SUCCESS:
        counts[ACTOR_SUCCESSES] += 1
    elif outcome is Outcome.FAILURE:
        counts[ACTOR_FAILURES] += 1
    return (event.actor_type or UNKNOWN_ACTOR_TYPE, event.actor_id), counts


def counter_updates(events: Iterable[Counted]) -> dict[CounterKey, Delta]:
    """Every counter the events touch, with what they add to it."""
    updates: dict[CounterKey, Delta] = {}

    def touch(key: CounterKey) -> Delta:
        return updates.setdefault(key, Delta())

    for event in events:
        moment = parse_timestamp(event.occurred_at)
        counts = event_counts(event)
        actor = actor_counts(event)
        for level in Level:
            bucket = bucket_name(level, moment)
            touch(CounterKey(event.tenant_id, level.value, bucket)).counts.update(counts)
            if actor is not None:
                touch(actor_key(event.tenant_id, level, bucket, actor[0])).counts.update(actor[1])
        if event.correlation_id:
            touch(correlation_key(event.tenant_id, event.correlation_id)).counts[TOTAL] += 1
        if event.resource_type and event.resource_id:
            resource = touch(resource_key(event.tenant_id, event.resource_id)).counts
            resource[TOTAL] += 1
            resource[dimension("rt", event.resource_type)] += 1
            resource[dimension("x", event.event_type, event.resource_type)] += 1
    return updates


def days_of(events: Iterable[Counted]) -> dict[str, set[str]]:
    """The days each tenant's events occurred on."""
    found: dict[str, set[str]] = {}
    for event in events:
        found.setdefault(event.tenant_id, set()).add(event.occurred_at[:10])
    return found


def contributions_of(events: Sequence[tuple[str, Counted]]) -> dict[CounterKey, list[Contribution]]:
    """Every counter the events touch, with what each event adds to it, in stream order.
    ``events`` are (position, event) pairs (``sequence_position``)."""
    found: dict[CounterKey, list[Contribution]] = {}
    for position, event in sorted(events, key=lambda pair: pair[0]):
        for key, delta in counter_updates([event]).items():
            found.setdefault(key, []).append(Contribution(position, delta))
    return found


def count_events(events: Sequence[tuple[str, Counted]], shard_id: str, counters: CounterWriter) -> int:
    """Add each event of one shard's records to its counters exactly once; the number of events
    taken into account (those a recent rebuild counted are left out)."""
    rebuilt = counters.counted_by_rebuild([event.event_id for _, event in events]) if events else set()
    wanted = [(position, event) for position, event in events if event.event_id not in rebuilt]
    for tenant_id, days in sorted(days_of(event for _, event in wanted).items()):
        counters.note_days(tenant_id, days)  # first: a counted event's day is always listed
    if wanted:
        counters.add_once(shard_id, contributions_of(wanted))
    return len(wanted)


@dataclass(frozen=True)
class StreamEntry:
    """One stream record: its sequence number and, for a newly inserted event, its facts."""

    sequence_number: str
    event: Counted | None


def count_stream_batch(entries: Sequence[StreamEntry], shard_id: str, counters: CounterWriter) -> str | None:
    """Count a batch of one shard's records. Returns the sequence number of its first record when
    a counter could not be written (Lambda retries the batch; what was written is not added
    again), or None when the whole batch is counted."""
    events = [(sequence_position(e.sequence_number), e.event) for e in entries if e.event is not None]
    try:
        count_events(events, shard_id, counters)
    except StoreUnavailable:
        return entries[0].sequence_number
    return None
