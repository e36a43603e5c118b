"""What the listing logic needs from the event index (implemented by ``adapters.event_index``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from functions.models.event import CanonicalEvent
from functions.models.listing import Entry, Source


class EventIndexPort(Protocol):
    def newest_first(
        self,
        source: Source,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        below: str | None = None,
        filters: Mapping[str, str] | None = None,
        want: int | None,
    ) -> Iterator[Entry]: ...

    def count(
        self,
        source: Source,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> int: ...

    def fetch(self, ids: Sequence[str]) -> list[CanonicalEvent]: ...
