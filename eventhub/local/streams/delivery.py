"""Delivering one batch as Lambda does: ``batchItemFailures`` retried from the first failed
record (an identifier not in the batch fails the whole batch), a function error bisecting the
batch, and after the retry limit the records given up with Lambda's on-failure message."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eventhub.local.lambda_runtime import ACCOUNT_ID, REGION, function_name_of

if TYPE_CHECKING:
    from eventhub.local.streams.subscriptions import Subscription

log = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]


def _sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@dataclass
class Invocation:
    """One call of the handler, as it went (what tests look at)."""

    sequences: list[str]
    outcome: str  # "ok", "partial", "error"
    failed_from: int | None = None


@dataclass
class Delivery:
    invocations: list[Invocation] = field(default_factory=list)
    given_up: list[list[str]] = field(default_factory=list)


def _first_failure(response: Any, batch: Sequence[Mapping[str, Any]]) -> int | None:
    """Index of the first reported failure; 0 (the whole batch) for an identifier not in it."""
    if not isinstance(response, Mapping):
        return None
    failures = response.get("batchItemFailures") or []
    if not failures:
        return None
    positions = {_sequence(record): n for n, record in enumerate(batch)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if identifier not in positions:
            return 0
        found.append(positions[identifier])
    return min(found)


def failure_message(
    subscription: Subscription,
    records: Sequence[Mapping[str, Any]],
    stream_arn: str,
    shard_id: str,
    invokes: int,
) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's on-failure destination: where the batch was."""

    def arrival(record: Mapping[str, Any]) -> str:
        stamp = record["dynamodb"].get("ApproximateCreationDateTime") or 0
        return datetime.fromtimestamp(float(stamp), UTC).isoformat().replace("+00:00", "Z")

    function = function_name_of(subscription.handler)
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invokes,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": _sequence(records[0]),
            "endSequenceNumber": _sequence(records[-1]),
            "approximateArrivalOfFirstRecord": arrival(records[0]),
            "approximateArrivalOfLastRecord": arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def window_fields(subscription: Subscription, stream_arn: str, shard_id: str) -> dict[str, Any]:
    """What Lambda adds to a stream event when the mapping has a tumbling window: the shard, the
    window the records fall in, and the state (empty: the functions keep none there)."""
    if not subscription.tumbling_window_seconds:
        return {}
    size = subscription.tumbling_window_seconds
    start = int(datetime.now(UTC).timestamp()) // size * size

    def stamp(seconds: int) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")

    return {
        "window": {"start": stamp(start), "end": stamp(start + size)},
        "state": {},
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }


def deliver(
    batch: Sequence[dict[str, Any]],
    subscription: Subscription,
    invoke: Invoke,
    give_up: Callable[[Sequence[dict[str, Any]], int], None],
    fields: Mapping[str, Any] | None = None,
) -> Delivery:
    """Invoke the handler with one batch until it succeeds or its records are given up
    (``fields``: what the event carries beside its records, ``window_fields``)."""
    report = Delivery()
    work: deque[tuple[list[dict[str, Any]], int]] = deque([(list(batch), 0)])
    while work:
        records, retries = work.popleft()
        sequences = [_sequence(r) for r in records]
        try:
            response = invoke(subscription.handler, {"Records": records, **(fields or {})})
        except Exception as error:  # a function error: the whole batch failed
            report.invocations.append(Invocation(sequences, "error", 0))
            log.warning("stream %s: function error (%s)", subscription.name, type(error).__name__)
            if subscription.bisect_on_error and len(records) > 1:
                half = len(records) // 2
                work.appendleft((records[half:], retries))
                work.appendleft((records[:half], retries))
                continue
            failed: list[dict[str, Any]] = records
        else:
            first = _first_failure(response, records) if subscription.report_batch_item_failures else None
            if first is None:
                report.invocations.append(Invocation(sequences, "ok"))
                continue
            report.invocations.append(Invocation(sequences, "partial", first))
            failed = records[first:]
        if retries >= subscription.max_retry_attempts:
            report.given_up.append([_sequence(r) for r in failed])
            give_up(failed, retries + 1)
            continue
        work.appendleft((failed, retries + 1))
    return report
