"""Time ranges as counter buckets: the largest aligned buckets (months, days, hours, minutes) that
cover a range, plus the raw sub-minute edges.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from functions.models.counting import Level, bucket_name
from functions.models.event import LATEST, format_timestamp

MINUTE = timedelta(minutes=1)


HOUR = timedelta(hours=1)


DAY = timedelta(days=1)


MICROSECOND = timedelta(microseconds=1)


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
        month_start = start_of_month(month)
        piece = plan_range(
            max(start, month_start), min(end, later(month_start, _length(month_start, Level.MONTH))), days
        )
        buckets += piece.buckets
        edges += piece.edges
    return RangePlan(buckets, edges)


def start_of_month(month: str) -> datetime:
    return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)


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
