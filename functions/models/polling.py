"""One validated page of a provider's event list."""

from __future__ import annotations

from typing import NamedTuple

from functions.models.event import NewEvent


class Page(NamedTuple):
    """One validated page: its events, mapped, and where the next page starts (None: last)."""

    events: list[NewEvent]
    next: int | str | None
