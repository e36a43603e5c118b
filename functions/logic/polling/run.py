"""One poll run of one connection: lease, dispatch by provider, one summary line.

A run holds a lease on its connection (a conditional put of a lock item that expires shortly
after the run's own time is up), so a connection never polls twice at once; a run that finds
the lease taken is skipped. Whatever happens, the run logs one summary line (connection,
events seen, new, duplicates, pages, elapsed) and emits its metrics. Failures propagate after
that, so the invocation fails and its retry policy applies; a 401/403 also raises the
``PollerAuthFailed`` metric.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

from functions.adapters.http_client import ProviderAuthFailed
from functions.errors import HubError, StoreUnavailable, UnknownConnection
from functions.logic.polling import incremental
from functions.logic.polling.klavi import drain
from functions.logic.polling.model import (
    LEASE_GRACE_SECONDS,
    PollServices,
    PollSummary,
    RunBudget,
    RunOutcome,
)
from functions.logic.polling.sources import ExaEvents, VaiEvents
from functions.models.config import Connection, HubConfig, Provider
from functions.models.event import utcnow
from functions.observability import logger, metrics

Poller = Callable[[Connection, str, PollServices, RunBudget, PollSummary, datetime], None]


def _klavi(
    c: Connection, key: str, s: PollServices, b: RunBudget, summary: PollSummary, start: datetime
) -> None:
    drain(c, key, s, b, summary)


def _vai(
    c: Connection, key: str, s: PollServices, b: RunBudget, summary: PollSummary, start: datetime
) -> None:
    incremental.sync(c, VaiEvents(c, key, s.http), s, b, summary, run_start=start)


def _exa(
    c: Connection, key: str, s: PollServices, b: RunBudget, summary: PollSummary, start: datetime
) -> None:
    incremental.sync(c, ExaEvents(c, key, s.http), s, b, summary, run_start=start)


POLLERS: dict[Provider, Poller] = {Provider.KLAVI: _klavi, Provider.VAI: _vai, Provider.EXA: _exa}


def run_poll(
    connection_id: str,
    *,
    config: HubConfig,
    services: PollServices,
    budget: RunBudget,
    now: datetime | None = None,
    run_id: str | None = None,
    lease_seconds: float | None = None,
) -> PollSummary:
    connection = config.connection(connection_id)
    if connection is None or connection.poll is None:
        raise UnknownConnection(f"no poll connection named {connection_id!r}")
    started = time.monotonic()
    run_start = now or utcnow()
    summary = PollSummary(
        connection_id=connection.id, provider=str(connection.provider), run_id=run_id or str(uuid.uuid4())
    )
    lease = lease_seconds if lease_seconds is not None else budget.remaining_ms() / 1000 + LEASE_GRACE_SECONDS
    if not services.store.acquire_lease(connection.id, summary.run_id, seconds=lease, now=services.clock()):
        summary.outcome = RunOutcome.SKIPPED
        _finish(summary, started)
        return summary
    try:
        credential = services.secrets.resolve(connection.poll.credential)  # type: ignore[arg-type]
        POLLERS[connection.provider](connection, credential, services, budget, summary, run_start)
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
            services.store.release_lease(connection.id, summary.run_id)
        except StoreUnavailable:
            logger.warning("lease not released; it expires by itself", extra={"connection": connection.id})
        _finish(summary, started)


def _finish(summary: PollSummary, started: float) -> None:
    summary.elapsed_ms = int((time.monotonic() - started) * 1000)
    metrics.add_metric(name="PolledEvents", unit="Count", value=summary.seen)
    metrics.add_metric(name="PolledEventsNew", unit="Count", value=summary.new)
    metrics.add_metric(name="PolledDuplicates", unit="Count", value=summary.duplicates)
    log = logger.info if summary.outcome in (RunOutcome.COMPLETED, RunOutcome.PARTIAL) else logger.warning
    log("poll run", extra={"summary": summary.model_dump(mode="json")})
