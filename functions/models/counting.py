"""Counter items as data: which counters exist (keys), what they hold (deltas), and how counter
attributes and time buckets are named. Shared by the counting logic and the counter store.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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
    source: str | None = None


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
    ACTOR = "a"  # one actor in one time bucket: the scope is "a" followed by the bucket's Level


# What an actor's item counts: its events, their successes and their failures.
ACTOR_TOTAL = TOTAL
ACTOR_SUCCESSES = "s"
ACTOR_FAILURES = "f"
ACTOR_COUNTS = (ACTOR_TOTAL, ACTOR_SUCCESSES, ACTOR_FAILURES)

Actor = tuple[str, str]
"""``(actor type, actor id)``."""


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


def actor_key(tenant_id: str, level: Level, bucket: str, actor: Actor) -> CounterKey:
    """One actor's counts in one time bucket: an item of its own, so a bucket holds any number
    of actors (they are read back by a range read of the bucket, ``actor_bucket_of``)."""
    return CounterKey(tenant_id, Scope.ACTOR.value + level.value, _json([bucket, *actor]))


@dataclass(frozen=True)
class ActorBucket:
    """Where an actor item is found again: its tenant's time bucket, and the actor."""

    tenant_id: str
    level: Level
    bucket: str
    actor: Actor


def actor_bucket_of(key: CounterKey) -> ActorBucket | None:
    """The bucket and actor of an actor item's key; None for any other counter."""
    if not key.scope.startswith(Scope.ACTOR.value) or len(key.scope) != 2:
        return None
    bucket, actor_type, actor_id = json.loads(key.name)
    return ActorBucket(key.tenant_id, Level(key.scope[1]), bucket, (actor_type, actor_id))


def _json(parts: list[str]) -> str:
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


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


# Stream sequence numbers are decimal strings of 21 to 40 digits; padded to 40 they compare as text
# in the order they compare as numbers (DynamoDB conditions compare strings).
SEQUENCE_DIGITS = 40


def sequence_position(sequence_number: str) -> str:
    """A stream record's sequence number as a fixed-width string that sorts in stream order."""
    digits = sequence_number.strip()
    if not digits.isdigit() or len(digits) > SEQUENCE_DIGITS:
        raise ValueError("a stream sequence number is 1 to 40 digits")
    return digits.zfill(SEQUENCE_DIGITS)


@dataclass(frozen=True)
class Contribution:
    """What one stream record adds to one counter: the record's position in its shard, padded
    (``sequence_position``), and the delta."""

    position: str
    delta: Delta
