"""Republishing: stored events over a time window put on the bus again, for late consumers.

The events are read as the query API lists them: the tenant's days of the ``byTime`` index in
``[start, end)``, oldest day first (each day counted, then read whole, filtered by event type when
asked; the index adapter queries and merges the day's shards), then the events themselves by id,
100 per BatchGetItem. Each becomes the entry the publisher
would have put (``event_entry``), and goes through ``publish`` (10 per call, failed entries
retried). Its event id stands for the stream record: when an entry still fails, republishing
stops there and the report names it, so the same command can be run again from that time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.logic.publishing.entries import event_entry
from functions.logic.publishing.publish import PublishPolicy, publish
from functions.models.listing import Entry, Source, SourceKind
from functions.ports.index import EventIndexPort
from functions.ports.publishing import EventBus

FETCH_CHUNK = 100


@dataclass
class RepublishReport:
    selected: int = 0  # events in the window (and of the type, when asked)
    put: int = 0
    billed_events: int = 0
    failed: int = 0  # selected events not put (the one that failed, and everything after it)
    stopped_at: str | None = None  # the id of the event whose entry failed every attempt

    def line(self) -> str:
        return (
            f"republished {self.put} of {self.selected} events: {self.put} entries put, "
            f"{self.billed_events} billed events, {self.failed} failed"
        )


def days_of(start: datetime, end: datetime) -> list[str]:
    """The UTC days ``[start, end)`` touches, oldest first (the ``byTime`` days to read)."""
    days, day = [], start.date()
    while datetime(day.year, day.month, day.day, tzinfo=start.tzinfo) < end:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _selected(
    index: EventIndexPort, tenants: Sequence[str], start: datetime, end: datetime, event_type: str | None
) -> Iterator[tuple[Source, int]]:
    filters = {"eventType": event_type} if event_type else None
    for tenant in tenants:
        for day in days_of(start, end):
            source = Source(SourceKind.TIME, tenant, (day,))
            yield source, index.count(source, start=start, end=end, filters=filters)


def _oldest_first(
    index: EventIndexPort, source: Source, start: datetime, end: datetime, event_type: str | None
) -> list[Entry]:
    filters = {"eventType": event_type} if event_type else None
    return list(index.newest_first(source, start=start, end=end, filters=filters, want=None))[::-1]


def republish(
    tenants: Sequence[str],
    start: datetime,
    end: datetime,
    index: EventIndexPort,
    bus: EventBus,
    *,
    event_type: str | None = None,
    policy: PublishPolicy | None = None,
    progress: Callable[[RepublishReport, int], None] = lambda _report, _total: None,
) -> RepublishReport:
    """Put every stored event of ``tenants`` with ``start <= occurredAt < end`` on the bus again."""
    partitions = [(source, n) for source, n in _selected(index, tenants, start, end, event_type) if n]
    total = sum(n for _source, n in partitions)
    report = RepublishReport()
    progress(report, total)
    for source, _count in partitions:
        ids = [entry.id for entry in _oldest_first(index, source, start, end, event_type)]
        for first in range(0, len(ids), FETCH_CHUNK):
            events = index.fetch(ids[first : first + FETCH_CHUNK])
            report.selected += len(events)
            outcome = publish([event_entry(event.id, event) for event in events], bus, policy)
            report.put += outcome.put
            report.billed_events += outcome.billed_events
            if outcome.failed_sequence is not None:
                report.stopped_at = outcome.failed_sequence
                report.failed = max(total, report.selected) - report.put
                progress(report, total)
                return report
            progress(report, total)
    return report
