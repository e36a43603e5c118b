"""Recomputing every counter from the stored events (``make rebuild-counters``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from functions.logic.aggregating.counting import counter_updates
from functions.logic.aggregating.ranges import DAY, iso
from functions.models.counting import DAYS, Counted, CounterKey, Delta, days_key
from functions.ports.counters import CounterRebuildTarget


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
