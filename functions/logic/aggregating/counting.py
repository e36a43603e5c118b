"""Counting a stream batch exactly once: what each event adds to its counters, grouped into
transactions that put the events' ``counted`` markers with the counts.

Every stored event adds 1 to a handful of counters of its tenant: the month, day, hour and
minute it occurred in, its correlation and its resource id. A small item per tenant keeps the
set of days that have events; adding a day is idempotent, so it is written before the counts,
outside their transaction. The counts of an event are added in the same DynamoDB transaction
that puts its ``counted`` marker under the condition that it does not exist yet: a batch
delivered twice, or bisected and retried, finds the markers and adds nothing again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from functions.errors import StoreUnavailable
from functions.models.counting import (
    TOTAL,
    Counted,
    CounterKey,
    Delta,
    Level,
    bucket_name,
    correlation_key,
    dimension,
    resource_key,
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


def event_counts(event: Counted) -> Counter[str]:
    """What one event adds to each of its time buckets."""
    counts: Counter[str] = Counter({TOTAL: 1, dimension("et", event.event_type): 1})
    if event.source:
        counts[dimension("src", event.source)] += 1
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
