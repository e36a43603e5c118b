"""Aggregator: the events table's stream -> exact per-tenant counters (see logic.aggregating).

Only INSERT records of event items count (artifact updates, counters and markers are skipped).
A record that could not be counted is reported in ``batchItemFailures``; Lambda retries the
batch from it, and the ``counted`` markers make the retry add nothing twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.adapters import factory
from functions.adapters.counter_items import counted_from_item
from functions.adapters.counters import CounterStore
from functions.logic.aggregating.counting import StreamEntry, count_stream_batch
from functions.observability import logger, metrics, tracer


def stream_entry(record: dict[str, Any]) -> StreamEntry:
    dynamodb = record.get("dynamodb") or {}
    image = dynamodb.get("NewImage") if record.get("eventName") == "INSERT" else None
    return StreamEntry(str(dynamodb.get("SequenceNumber", "")), counted_from_item(image) if image else None)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    entries = [stream_entry(record) for record in event.get("Records", [])]
    failed = count_stream_batch(entries, CounterStore(factory.event_store()))
    events = sum(entry.event is not None for entry in entries)
    if failed:
        logger.warning("counting stopped; the batch is retried from a record", extra={"sequence": failed})
    metrics.add_metric(name="AggregatorEventRecords", unit="Count", value=events)
    return {"batchItemFailures": [{"itemIdentifier": failed}] if failed else []}
