"""One poll run of one connection: lease, dispatch by provider, one summary line.

A run holds a lease on its connection (a conditional put of a lock item that expires shortly
after the run's own time is up), so a connection never polls twice at once; a run that finds
the lease taken is skipped. Whatever happens, the run logs one summary line (connection,
events seen, new, duplicates, pages, elapsed) and emits its metrics. Failures propagate after
that, so the invocation fails and its retry policy applies; a 401/403 also raises the
``PollerAuthFailed`` metric.

``backfill`` re-reads a chosen window of a VAI or Exa connection the same way, under its own
checkpoint and lease, so it can be resumed and never moves the scheduled sync's checkpoint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

from functions.errors import HubError, ProviderAuthFailed, StoreUnavailable, UnknownConnection
from functions.logic.polling import incremental
from functions.logic.polling.klavi import drain
from functions.logic.polling.model import (
    LEASE_GRACE_SECONDS,
    PollServices,
    PollSummary,
    RunBudget,
    RunOutcome,
)
from functions.logic.secret_checks import usable_secret
from functions.models.config import Connection, Provider
from functions.models.event import format_timestamp, parse_timestamp, utcnow
from functions.observability import count_by_source, logger, metrics
from functions.ports.polling import PageSource
from functions.ports.registry import Connections
from functions.providers.exa import ExaEvents
from functions.providers.vai import VaiEvents

Work = Callable[[Connection, str, PollSummary], None]

LIST_SOURCES: dict[Provider, Callable[[Connection, str, PollServices], PageSource]] = {
    Provider.VAI: lambda c, key, s: VaiEvents(c, key, s.http),
    Provider.EXA: lambda c, key, s: ExaEvents(c, key, s.http),
}


def run_poll(
    connection_id: str,
    *,
    config: Connections,
    services: PollServices,
    budget: RunBudget,
    now: datetime | None = None,
    run_id: str | None = None,
    lease_seconds: float | None = None,
) -> PollSummary:
    """The scheduled run: Klavi drains its queue; VAI and Exa sync from their checkpoint to now."""
    connection = _poll_connection(config, connection_id)
    run_start = now or utcnow()

    def work(conn: Connection, credential: str, summary: PollSummary) -> None:
        if conn.provider is Provider.KLAVI:
            drain(conn, credential, services, budget, summary)
        else:
            source = LIST_SOURCES[conn.provider](conn, credential, services)
            incremental.sync(conn, source, services, budget, summary, run_start=run_start)

    return _run(
        connection, services, budget, work, lease=connection.id, run_id=run_id, lease_seconds=lease_seconds
    )


def backfill(
    connection_id: str,
    *,
    start: datetime,
    end: datetime,
    config: Connections,
    services: PollServices,
    budget: RunBudget,
    progress: incremental.Progress | None = None,
) -> PollSummary:
    """Read [start, end] of a VAI or Exa connection again. Resumable: a second call with the same
    window continues after the last whole chunk the first one stored."""
    connection = _poll_connection(config, connection_id)
    if connection.provider not in LIST_SOURCES:
        raise UnknownConnection(f"connection {connection_id!r} ({connection.provider}) has no events list")
    checkpoint_id = f"{connection.id}#backfill#{format_timestamp(start)}#{format_timestamp(end)}"

    def work(conn: Connection, credential: str, summary: PollSummary) -> None:
        done = services.store.get_checkpoint(checkpoint_id)
        resume = max(start, parse_timestamp(done)) if done else start
        source = LIST_SOURCES[conn.provider](conn, credential, services)
        incremental.sync_range(
            source,
            services,
            budget,
            summary,
            checkpoint_id=checkpoint_id,
            start=resume,
            end=end,
            progress=progress,
        )

    return _run(connection, services, budget, work, lease=f"{connection.id}#backfill")


def _poll_connection(config: Connections, connection_id: str) -> Connection:
    connection = config.connection(connection_id)
    if connection is None or connection.poll is None:
        raise UnknownConnection(f"no poll connection named {connection_id!r}")
    return connection


def _run(
    connection: Connection,
    services: PollServices,
    budget: RunBudget,
    work: Work,
    *,
    lease: str,
    run_id: str | None = None,
    lease_seconds: float | None = None,
) -> PollSummary:
    assert connection.poll is not None and connection.poll.credential is not None
    started = time.monotonic()
    summary = PollSummary(
        connection_id=connection.id, provider=str(connection.provider), run_id=run_id or str(uuid.uuid4())
    )
    seconds = (
        lease_seconds if lease_seconds is not None else budget.remaining_ms() / 1000 + LEASE_GRACE_SECONDS
    )
    if not services.store.acquire_lease(lease, summary.run_id, seconds=seconds, now=services.clock()):
        summary.outcome = RunOutcome.SKIPPED
        _finish(summary, started)
        return summary
    try:
        credential = usable_secret(connection.id, services.secrets.resolve(connection.poll.credential))
        work(connection, credential, summary)
        if summary.outcome is RunOutcome.RUNNING:
            summary.outcome = RunOutcome.COMPLETED
        return summary
    except ProviderAuthFailed as error:
        summary.outcome, summary.error = RunOutcome.AUTH_FAILED, error.message
        metrics.add_metric(name="PollerAuthFailed", unit="Count", value=1)
        logger.error(
            "poll stopped: the provider refused the credential; fix the connection's secret",
            extra={"connection": connection.id, "provider": str(connection.provider), "status": error.status},
        )
        raise
    except Exception as error:
        summary.outcome = RunOutcome.FAILED
        summary.error = error.message if isinstance(error, HubError) else type(error).__name__
        metrics.add_metric(name="PollerRunFailed", unit="Count", value=1)
        raise
    finally:
        try:
            services.store.release_lease(lease, summary.run_id)
        except StoreUnavailable:
            logger.warning("lease not released; it expires by itself", extra={"connection": connection.id})
        _finish(summary, started)


def _finish(summary: PollSummary, started: float) -> None:
    summary.elapsed_ms = int((time.monotonic() - started) * 1000)
    metrics.add_metric(name="PolledEvents", unit="Count", value=summary.seen)
    # The same names intake uses, so ingest rate and duplicates count both paths.
    metrics.add_metric(name="EventsStored", unit="Count", value=summary.new)
    count_by_source(summary.provider, summary.new)
    metrics.add_metric(name="DuplicateEvents", unit="Count", value=summary.duplicates)
    log = logger.info if summary.outcome in (RunOutcome.COMPLETED, RunOutcome.PARTIAL) else logger.warning
    log("poll run", extra={"summary": summary.model_dump(mode="json")})
