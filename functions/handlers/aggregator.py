"""Aggregator: the events table's stream -> exact per-tenant counters (see logic.aggregating).

Only INSERT records of event items count (artifact updates, counters and markers are skipped).
The event source mapping has a tumbling window, which is how Lambda tells the function the shard
of its records (``shardId``); each counter remembers how far into each shard it has counted. A
batch that could not be written is reported from its first record; Lambda retries it, and the
counters it reached already add nothing twice. With a tumbling window Lambda expects a ``state``
in the answer; the counters keep theirs in the table, so it is always empty.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.adapters import factory
from functions.adapters.counter_items import counted_from_item
from functions.logic.aggregating.counting import StreamEntry, count_stream_batch
from functions.observability import logger, metrics, tracer


class MissingShard(ValueError):
    """The event has records but no ``shardId``: the mapping has no tumbling window."""


def stream_entry(record: dict[str, Any]) -> StreamEntry:
    dynamodb = record.get("dynamodb") or {}
    image = dynamodb.get("NewImage") if record.get("eventName") == "INSERT" else None
    return StreamEntry(str(dynamodb.get("SequenceNumber", "")), counted_from_item(image) if image else None)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    entries = [stream_entry(record) for record in event.get("Records", [])]
    events = sum(entry.event is not None for entry in entries)
    failed = None
    if events:
        shard_id = event.get("shardId")
        if not shard_id:
            raise MissingShard("no shardId in the event: the stream mapping needs a tumbling window")
        failed = count_stream_batch(entries, shard_id, factory.counter_store())
    if failed:
        logger.warning("counting stopped; the batch is retried", extra={"sequence": failed})
    metrics.add_metric(name="AggregatorEventRecords", unit="Count", value=events)
    return {"state": {}, "batchItemFailures": [{"itemIdentifier": failed}] if failed else []}
