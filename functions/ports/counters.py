"""What the aggregating logic needs from the counter store (implemented by ``adapters.counters``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from functions.models.counting import Counted, CounterKey, Delta


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


class CounterReader(Protocol):
    def read(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Delta]:
        """The counter items that exist among ``keys``."""
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
