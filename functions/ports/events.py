"""What the logic needs from the event store (implemented by ``adapters.event_store``)."""

from __future__ import annotations

from typing import Protocol

from functions.models.event import CanonicalEvent, NewEvent
from functions.models.store import PutResult


class EventWriter(Protocol):
    def put(self, new: NewEvent) -> PutResult:
        """Store an event once: new or duplicate; StoreUnavailable if it is not durable."""
        ...


class EventLookup(Protocol):
    def get_without_payload(self, event_id: str) -> CanonicalEvent | None:
        """The stored event without its payload (artifacts and provenance only)."""
        ...
