"""The EventStore: the one adapter that reads and writes the events table.

One class, in parts by job: ``events`` (the conditional put, reads by id), ``artifacts`` (an
event's result files, updated under an optimistic lock), ``poll_state`` (checkpoints and leases);
``table`` holds what they share. Counters and index queries are adapters of their own
(``adapters.counters``, ``adapters.event_index``) over the same table and client.
"""

from __future__ import annotations

from functions.adapters.event_store.artifacts import ARTIFACTS_VERSION, ArtifactUpdates
from functions.adapters.event_store.events import EventItems
from functions.adapters.event_store.poll_state import CHECKPOINT_KIND, LOCK_KIND, PollState
from functions.adapters.event_store.table import INLINE_PAYLOAD_LIMIT, ReadMeter

__all__ = [
    "ARTIFACTS_VERSION",
    "CHECKPOINT_KIND",
    "INLINE_PAYLOAD_LIMIT",
    "LOCK_KIND",
    "EventStore",
    "ReadMeter",
]


class EventStore(EventItems, ArtifactUpdates, PollState):
    """Events, their artifacts and the pollers' state, in the events table."""
