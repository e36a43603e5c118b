"""What the aggregating logic needs from the counter store (implemented by ``adapters.counters``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from functions.models.counting import Actor, Contribution, Counted, CounterKey, Delta, Level


class CounterWriter(Protocol):
    def counted_by_rebuild(self, event_ids: Sequence[str]) -> set[str]:
        """The ids among these that a recent counter rebuild counted already (their ``counted``
        markers); empty at once when no rebuild happened within a stream record's lifetime."""
        ...

    def note_days(self, tenant_id: str, days: set[str]) -> None:
        """Add days to the tenant's set of days with events (idempotent)."""
        ...

    def add_once(self, shard_id: str, contributions: Mapping[CounterKey, Sequence[Contribution]]) -> None:
        """Add each record's contribution to its counter exactly once, however often the same
        records of the shard come again (whole, bisected, raced, or from a later start).

        Each counter keeps the position of the last record of the shard it has added; a
        contribution at or below it was added before. Raises StoreUnavailable when a counter could
        not be written; what was written stays, and a retry adds only the rest."""
        ...


class CounterReader(Protocol):
    def read(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Delta]:
        """The counter items that exist among ``keys``."""
        ...


class ActorReader(Protocol):
    def actors(self, tenant_id: str, buckets: Sequence[tuple[Level, str]]) -> dict[Actor, Counter[str]]:
        """Every actor counted in these time buckets of a tenant, with its counts summed over
        them (a range read per bucket)."""
        ...


EdgeReader = Callable[[str, datetime, datetime], list[Counted]]
"""``(tenant, start, end)`` -> the tenant's events with ``start <= occurredAt < end``."""


class CounterRebuildTarget(Protocol):
    def replace_all(self, values: Mapping[CounterKey, Delta], tenant_id: str | None) -> int:
        """Make the stored counters exactly ``values`` (of one tenant, or of every tenant)."""
        ...

    def mark_counted(self, event_ids: Iterable[str]) -> None:
        """Put the ``counted`` marker of each event (so a later stream delivery adds nothing)."""
        ...
