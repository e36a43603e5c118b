"""The stack's stream consumers: one ``Subscription`` per event source mapping, as the stack
configures it (handler, filter patterns, batch size, retry limit, on-failure queue)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.models.items import AGGREGATOR_STREAM_FILTER, COPIER_STREAM_FILTER, PUBLISHER_STREAM_FILTERS

# The aggregator's mapping as the stack configures it (infra/constants.py; a test compares them):
# retried until its records leave the stream, with a tumbling window for the shard id.
# The stack's -1 (until the records expire) paces its retries; here they come at once, so a bound
# keeps a broken local run from spinning: what still fails goes to the local on-failure queue.
AGGREGATOR_RETRY_ATTEMPTS = 20
AGGREGATOR_TUMBLING_WINDOW_SECONDS = 900

COPIER_HANDLER = "functions.handlers.copier.handler"
AGGREGATOR_HANDLER = "functions.handlers.aggregator.handler"
PUBLISHER_HANDLER = "functions.handlers.publisher.handler"


@dataclass(frozen=True)
class Subscription:
    """One event source mapping: which records, in what batches, to which handler."""

    name: str
    handler: str
    filters: tuple[Mapping[str, Any], ...] = ()  # any pattern matching admits a record; none: all
    batch_size: int = 100
    max_retry_attempts: int = 2
    bisect_on_error: bool = True
    report_batch_item_failures: bool = True
    timeout_seconds: float = 900.0
    on_failure_queue: str | None = None
    tumbling_window_seconds: int | None = None  # set: events carry shardId, window and state
    # Set: a partial batch waits this long for more records (None here: the stack's 60 s for the
    # aggregator would leave local aggregates a minute behind; the cost suite sets it).
    batching_window_seconds: float | None = None


def local_subscriptions(*, forwarding: bool = True) -> list[Subscription]:
    """The stack's stream consumers, with the stack's batch sizes and retry limits (the
    publisher only while ``forwarding.enabled``)."""
    publisher = Subscription(
        name="publisher",
        handler=PUBLISHER_HANDLER,
        filters=PUBLISHER_STREAM_FILTERS,
        batch_size=100,
        max_retry_attempts=5,
        on_failure_queue="eventhub-publisher-failures",
    )
    consumers = [
        Subscription(
            name="copier",
            handler=COPIER_HANDLER,
            filters=(COPIER_STREAM_FILTER,),
            batch_size=4,
            max_retry_attempts=3,
            on_failure_queue="eventhub-copier-failures",
        ),
        Subscription(
            name="aggregator",
            handler=AGGREGATOR_HANDLER,
            filters=(AGGREGATOR_STREAM_FILTER,),
            batch_size=100,
            max_retry_attempts=AGGREGATOR_RETRY_ATTEMPTS,
            on_failure_queue="eventhub-aggregator-failures",
            tumbling_window_seconds=AGGREGATOR_TUMBLING_WINDOW_SECONDS,
            bisect_on_error=False,  # in order, as the counters' watermarks need
        ),
    ]
    return [*consumers, publisher] if forwarding else consumers
