"""The artifact copier: DynamoDB stream batches of events with pending artifacts.

A record whose copy failed in a way a retry may cure is reported in ``batchItemFailures``
(``handlers.stream_batch``): Lambda retries from it (bisecting, a bounded number of times), then
hands the batch to the on-failure destination (the copier DLQ). The event source mapping's filter is
``functions.models.items.COPIER_STREAM_FILTER``. Invoked directly with
``{"action": "recopy", "eventId": "..."}`` it retries one event's failed copies (the recopy
command, in AWS).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.adapters import factory
from functions.adapters.artifact_source import HttpArtifactSource
from functions.adapters.dns import resolve_host
from functions.handlers.stream_batch import partial_response
from functions.logic.copying.deps import CopyDeps, RetryPolicy
from functions.logic.copying.run import copy_pending_artifacts, recopy_event
from functions.observability import logger, metrics, tracer

# In-invocation retries of a 5xx or connection error; Lambda's own retries of the record follow.
RETRY_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=8.0)


class CopyNotFinished(Exception):
    """Some artifact of the record failed transiently: report the record so Lambda retries it."""


@lru_cache(maxsize=1)
def _source() -> HttpArtifactSource:
    return HttpArtifactSource()


def _deps() -> CopyDeps:
    return CopyDeps(
        store=factory.event_store(),
        blobs=factory.blob_store(),
        source=_source(),
        config=factory.copy_settings(),
        resolve=resolve_host,
        retry=RETRY_POLICY,
    )


@tracer.capture_method
def copy_record(record: Mapping[str, Any]) -> None:
    event_id = str(record["dynamodb"]["Keys"]["id"]["S"])
    report = copy_pending_artifacts(event_id, _deps())
    if report.needs_retry:
        raise CopyNotFinished(f"event {event_id}: a copy failed and may succeed on a retry")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "recopy":
        return recopy_event(str(event["eventId"]), _deps()).model_dump(mode="json")
    return partial_response(event, copy_record)
