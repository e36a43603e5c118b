"""Request times as the lists and counts use them: in UTC, clamped at the ends of time."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.logic.aggregating.ranges import MICROSECOND, later
from functions.logic.query.requests import check_range
from functions.models.event import LATEST

EARLIEST = datetime.min.replace(tzinfo=UTC)


def to_utc(moment: datetime | None) -> datetime | None:
    """In UTC (UTC if it has no offset); an offset that pushes a moment past year 1 or 9999 is
    clamped to that end of time instead of overflowing."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


def half_open(start: datetime | None, to: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive ``from``/``to`` as ``[start, end)`` in UTC; 422 when ``from`` is after ``to``."""
    start, to = to_utc(start), to_utc(to)
    check_range(start, to)
    return start, (later(to, MICROSECOND) if to is not None else None)
