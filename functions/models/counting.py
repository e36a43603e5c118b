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
