"""What the publisher needs from the event bus (implemented by ``adapters.event_bus``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from functions.models.publishing import BusEntry, PutFailure


class EventBus(Protocol):
    def put(self, entries: Sequence[BusEntry]) -> list[PutFailure]:
        """One PutEvents call of at most 10 entries: the entries it did not take, with their
        error codes. Raises ``BusUnavailable`` when the call itself failed."""
        ...
