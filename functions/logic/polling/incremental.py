"""Incremental sync of a provider's event list (VAI, Exa) under a checkpoint.

A run freezes its window: ``from`` = checkpoint - lookback (the first run: ``since``, or 24 h
back), ``to`` = the moment the run started. It reads the window in chunks of at most an hour,
oldest chunk first; within a chunk it pages to the end, validating each whole page before
storing any of it. The checkpoint moves to a chunk's end only once every event of the chunk
is stored, and only forwards (a conditional write). A run cut off midway leaves the
checkpoint where the last whole chunk put it; the next run reads the rest again, and the
overlap collapses on event ids.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from functions.logic.polling.model import (
    CHUNK,
    FIRST_SYNC_LOOKBACK,
    PollServices,
    PollSummary,
    RunBudget,
    RunOutcome,
)
from functions.models.config import Connection
from functions.models.event import NewEvent, format_timestamp, parse_timestamp, utcnow
from functions.models.store import PutResult
from functions.observability import logger
from functions.ports.polling import PageSource, PollStore

# Called after every page (position None) and every completed chunk (its end).
Progress = Callable[[PollSummary, datetime | None], None]


def window_start(connection: Connection, checkpoint: str | None, run_start: datetime) -> datetime:
    poll = connection.poll
    assert poll is not None
    if checkpoint is not None:
        return parse_timestamp(checkpoint) - timedelta(seconds=poll.lookback_seconds)
    if poll.since is not None:
        return parse_timestamp(poll.since.isoformat())
    return run_start - FIRST_SYNC_LOOKBACK


def sync(
    connection: Connection,
    source: PageSource,
    services: PollServices,
    budget: RunBudget,
    summary: PollSummary,
    *,
    run_start: datetime,
    chunk: timedelta = CHUNK,
) -> None:
    """The scheduled sync: from the connection's checkpoint (less the lookback) to ``run_start``."""
    start = window_start(connection, services.store.get_checkpoint(connection.id), run_start)
    sync_range(
        source,
        services,
        budget,
        summary,
        checkpoint_id=connection.id,
        start=start,
        end=run_start,
        chunk=chunk,
    )


def sync_range(
    source: PageSource,
    services: PollServices,
    budget: RunBudget,
    summary: PollSummary,
    *,
    checkpoint_id: str,
    start: datetime,
    end: datetime,
    chunk: timedelta = CHUNK,
    progress: Progress | None = None,
) -> None:
    """Sync [start, end] chunk by chunk, oldest first, moving checkpoint ``checkpoint_id`` to the
    end of each chunk once it is wholly stored. ``progress(summary, position)`` follows along."""
    store = services.store
    summary.window_from, summary.window_to = format_timestamp(start), format_timestamp(end)
    while start < end:
        chunk_end = min(end, start + chunk)
        if not _sync_window(source, start, chunk_end, services, budget, summary, progress):
            summary.outcome = RunOutcome.PARTIAL
            return
        position = format_timestamp(chunk_end)
        moved = store.advance_checkpoint(
            checkpoint_id, position, run_id=summary.run_id, updated_at=format_timestamp(utcnow())
        )
        if moved:
            summary.checkpoint = position
        else:
            logger.info(
                "checkpoint already further on; left as it is",
                extra={"checkpoint": checkpoint_id, "position": position},
            )
        if progress is not None:
            progress(summary, chunk_end)
        start = chunk_end


def _sync_window(
    source: PageSource,
    start: datetime,
    end: datetime,
    services: PollServices,
    budget: RunBudget,
    summary: PollSummary,
    progress: Progress | None = None,
) -> bool:
    """Page through one frozen window and store it all. False if the run's time ran out first."""
    position: int | str | None = None
    while True:
        if budget.exhausted():
            return False
        page = source.fetch(start, end, position, budget.seconds_left())
        summary.pages += 1
        summary.seen += len(page.events)
        store_page(page.events, services, summary)
        if progress is not None:
            progress(summary, None)
        if page.next is None:
            return True
        position = page.next


def store_page(events: list[NewEvent], services: PollServices, summary: PollSummary) -> None:
    """Store a validated page: ids already stored are counted as duplicates without a write
    (one BatchGetItem per 100); the rest go through the conditional put, several at a time.
    Any store failure propagates after the page's other writes have finished."""
    unique: dict[str, NewEvent] = {}
    for new in events:
        unique.setdefault(new.event.id, new)
    summary.duplicates += len(events) - len(unique)
    if not unique:
        return
    store = services.store
    existing = store.existing_ids(list(unique))
    fresh = [new for event_id, new in unique.items() if event_id not in existing]
    summary.duplicates += len(unique) - len(fresh)
    workers = min(services.store_workers, len(fresh))
    if workers <= 1:
        outcomes = [_put(store, new) for new in fresh]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll-store") as pool:
            outcomes = list(pool.map(lambda new: _put(store, new), fresh))
    failure: Exception | None = None
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            failure = failure or outcome
        elif outcome.duplicate:
            summary.duplicates += 1
        else:
            summary.new += 1
    if failure is not None:
        raise failure


def _put(store: PollStore, new: NewEvent) -> PutResult | Exception:
    try:
        return store.put(new)
    except Exception as error:  # reported once the page's other writes are done
        return error
