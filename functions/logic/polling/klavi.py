"""Klavi's pull queue: ``GET {base}/data/analysis/v1/events`` with the ``secretKey`` header.

Each 200 hands out one event, once. It is stored before the next pull; if the store keeps
failing through its retries, the raw event goes to the spill queue and the run stops (the
next pull would only spill again). A 201 means the queue is empty. The run also stops when
the Lambda's remaining time drops under the safety margin. An event whose body cannot be
read is spilled too, and the drain goes on (the bad one is safe; the others' presigned URLs
are short-lived); the run then ends as failed so that somebody looks.
"""

from __future__ import annotations

from datetime import datetime

from functions.errors import (
    EventSpilled,
    MalformedPage,
    MalformedPayload,
    ProviderError,
    SpillUnavailable,
    StoreUnavailable,
)
from functions.logic.polling.model import PollServices, PollSummary, RunBudget, RunOutcome
from functions.models.config import Connection
from functions.models.event import Channel, NewEvent, format_timestamp, utcnow
from functions.models.store import PutResult
from functions.observability import logger, metrics
from functions.providers import klavi
from functions.redaction import redact_url

STORE_BACKOFF_SECONDS = 0.5


def drain(
    connection: Connection,
    secret_key: str,
    services: PollServices,
    budget: RunBudget,
    summary: PollSummary,
) -> None:
    assert connection.poll is not None
    url = connection.poll.base_url + (connection.poll.path or klavi.PULL_PATH)
    where = redact_url(url)
    headers = {"secretKey": secret_key}
    unreadable = 0
    while True:
        if budget.exhausted():
            summary.outcome = RunOutcome.PARTIAL
            break
        response = services.http.get(url, headers=headers, budget_seconds=budget.seconds_left())
        if response.status == 201:
            summary.pages += 1
            break
        if response.status != 200:
            raise ProviderError(f"{where} answered {response.status}")
        summary.pages += 1
        summary.seen += 1
        received_at = utcnow()
        try:
            new = klavi.map_event(response.json(), connection, received_at, Channel.POLL)
        except MalformedPayload as error:
            _spill(services, connection, summary, response.body, received_at, f"unreadable: {error.message}")
            unreadable += 1
            continue
        _store_or_spill(new, response.body, services, connection, summary, received_at)
    if unreadable:
        raise MalformedPage(
            f"{where}: {unreadable} pulled event(s) could not be read; they are in the spill queue"
        )


def _store_or_spill(
    new: NewEvent,
    body: bytes,
    services: PollServices,
    connection: Connection,
    summary: PollSummary,
    received_at: datetime,
) -> None:
    result: PutResult | None = None
    failure: StoreUnavailable | None = None
    for attempt in range(1, services.store_attempts + 1):
        try:
            result = services.store.put(new)
            break
        except StoreUnavailable as error:
            failure = error
            if attempt < services.store_attempts:
                services.sleep(STORE_BACKOFF_SECONDS * 2 ** (attempt - 1))
    if result is not None:
        if result.duplicate:
            summary.duplicates += 1
        else:
            summary.new += 1
        return
    reason = f"store unavailable: {failure.message if failure else 'unknown'}"
    _spill(services, connection, summary, body, received_at, reason, event=new)
    raise EventSpilled(
        f"event {new.event.id} could not be stored after {services.store_attempts} attempts; "
        "it is in the spill queue and the run stopped"
    )


def _spill(
    services: PollServices,
    connection: Connection,
    summary: PollSummary,
    body: bytes,
    received_at: datetime,
    reason: str,
    *,
    event: NewEvent | None = None,
) -> None:
    identity = {
        "connection": connection.id,
        "event_id": event.event.id if event else None,
        "source_event_id": event.event.source_event_id if event else None,
        "correlation_id": event.event.correlation_id if event else None,
    }
    try:
        if services.spill is None:
            raise SpillUnavailable("no spill queue is configured")
        services.spill.spill(
            connection_id=connection.id,
            provider=str(connection.provider),
            reason=reason,
            received_at=format_timestamp(received_at),
            body=body,
        )
    except SpillUnavailable as error:
        # The last place left is this log line: identifiers only (the body holds a presigned URL).
        logger.error("pulled event could neither be stored nor spilled", extra={**identity, "reason": reason})
        raise SpillUnavailable(f"{error.message}; the pulled event was not kept") from None
    summary.spilled += 1
    metrics.add_metric(name="PollerSpilled", unit="Count", value=1)
    logger.warning("pulled event spilled", extra={**identity, "reason": reason})
