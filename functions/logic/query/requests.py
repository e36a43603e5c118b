"""What a list request asks for (filters, page) and what it answers, and the 422 a request the
contract refuses gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from functions.errors import HubError
from functions.logic.aggregating.ranges import MICROSECOND, later
from functions.models.event import CanonicalEvent

MAX_LIMIT = 100


class InvalidQuery(HubError):
    """A request the seed's contract refuses: answered 422 ``{"detail": [{loc, msg, type}]}``."""

    status_code = 422
    code = "invalid_query"

    def __init__(self, loc: Sequence[str | int], message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc = list(loc)
        self.kind = kind


@dataclass(frozen=True)
class Page:
    limit: int = MAX_LIMIT
    offset: int = 0
    cursor: str | None = None


@dataclass(frozen=True)
class ListFilters:
    event_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    start: datetime | None = None  # "from", inclusive
    to: datetime | None = None  # "to", inclusive
    source: str | None = None  # the provider (as its connection names it)
    source_event_id: str | None = None  # with source: the provider's own id of one event

    @property
    def end(self) -> datetime | None:
        """The exclusive end of the range."""
        return later(self.to, MICROSECOND) if self.to is not None else None


@dataclass
class EventPage:
    events: list[CanonicalEvent]
    has_next: bool
    limit: int
    offset: int
    total: int
    next_cursor: str | None = None


def check_range(start: datetime | None, to: datetime | None) -> None:
    if start is not None and to is not None and start > to:
        raise InvalidQuery(("query", "from"), "'from' must not be after 'to'")


def check_source(filters: ListFilters) -> None:
    """``source_event_id`` needs its ``source``; ``source`` alone combines only with ``from``/``to``."""
    if filters.source_event_id and not filters.source:
        raise InvalidQuery(
            ("query", "source_event_id"),
            "source_event_id needs source: a provider's event id is only unique within its source",
        )
    if filters.source and not filters.source_event_id:
        others = [
            name
            for name, value in (
                ("event_type", filters.event_type),
                ("resource_type", filters.resource_type),
                ("resource_id", filters.resource_id),
            )
            if value
        ]
        if others:
            raise InvalidQuery(
                ("query", "source"),
                f"source filters a list with from and to only, not with {', '.join(others)} "
                "(a lookup by source and source_event_id takes any filter)",
            )
