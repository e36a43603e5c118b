"""Publisher: the events table's stream -> the hub's EventBridge bus (see logic.publishing).

Each new event becomes one entry; the modify that ends an event's copies gives one entry per
result file. An entry that cannot be put after its retries makes its record the batch item
failure: Lambda retries the batch from it, bisects, and finally sends it to the on-failure queue.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.adapters import factory
from functions.logic.publishing.entries import entries_of
from functions.logic.publishing.publish import PublishPolicy, publish
from functions.observability import logger, metrics, tracer
from functions.settings import settings

POLICY = PublishPolicy()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    bucket = settings().bucket_name
    entries = [entry for record in event.get("Records", []) for entry in entries_of(record, bucket)]
    report = publish(entries, factory.event_bus(), POLICY)
    metrics.add_metric(name="PublishedEntries", unit="Count", value=report.put)
    if report.retried:
        metrics.add_metric(name="PublishRetries", unit="Count", value=report.retried)
    failed = report.failed_sequence
    return {"batchItemFailures": [{"itemIdentifier": failed}] if failed else []}
