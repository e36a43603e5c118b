"""Spilled events back into the store (``eventhub replay`` calls this).

Each spilled event is mapped again by its provider's mapper, so it gets the id it would have
had, and stored with the conditional put: replaying twice, or replaying an event that made it
into the store after all, stores it once. A message is deleted only after its event is
stored. One that cannot be mapped (unknown connection, unreadable body) stays in the queue
for a person; a store failure stops the replay with the rest still queued.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from functions import jsonutil
from functions.errors import MalformedPayload
from functions.models.config import Connection, Provider
from functions.models.event import Channel, NewEvent, parse_timestamp
from functions.models.spill import SpilledEvent
from functions.observability import logger
from functions.ports.events import EventWriter
from functions.ports.polling import Spill
from functions.ports.registry import Connections
from functions.providers import exa, klavi, vai

Mapper = Callable[[Any, Connection, datetime], NewEvent]

MAPPERS: dict[Provider, Mapper] = {
    Provider.KLAVI: lambda body, c, at: klavi.map_event(body, c, at, Channel.POLL),
    Provider.EXA: lambda body, c, at: exa.map_event(body, c, at, Channel.POLL),
    Provider.VAI: vai.map_event,
}


class ReplayReport(BaseModel):
    restored: int = 0
    duplicates: int = 0
    left_in_queue: int = 0
    event_ids: list[str] = []


def restore_spilled(
    spill: Spill, store: EventWriter, config: Connections, *, wait_seconds: int = 1
) -> ReplayReport:
    report = ReplayReport()
    for spilled in spill.drain(wait_seconds=wait_seconds):
        new = _remap(spilled, config)
        if new is None:
            report.left_in_queue += 1
            continue
        result = store.put(new)  # StoreUnavailable stops the replay; this message stays queued
        spill.delete(spilled)
        report.event_ids.append(result.event_id)
        if result.duplicate:
            report.duplicates += 1
        else:
            report.restored += 1
    logger.info("spilled events replayed", extra=report.model_dump(exclude={"event_ids"}))
    return report


def _remap(spilled: SpilledEvent, config: Connections) -> NewEvent | None:
    connection = config.connection(spilled.connection_id)
    mapper = MAPPERS.get(connection.provider) if connection is not None else None
    if connection is None or mapper is None:
        logger.warning(
            "spilled event left in the queue: no such connection",
            extra={"connection": spilled.connection_id, "reason": spilled.reason},
        )
        return None
    try:
        return mapper(jsonutil.loads(spilled.body), connection, parse_timestamp(spilled.received_at))
    except (MalformedPayload, ValueError) as error:
        logger.warning(
            "spilled event left in the queue: it cannot be read",
            extra={"connection": connection.id, "error": str(error)[:200]},
        )
        return None
