"""The stack's stream consumers: one ``Subscription`` per event source mapping, as the stack
configures it (handler, filter patterns, batch size, retry limit, on-failure queue)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.models.items import AGGREGATOR_STREAM_FILTER, COPIER_STREAM_FILTER, PUBLISHER_STREAM_FILTERS

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
            max_retry_attempts=5,
            on_failure_queue="eventhub-aggregator-failures",
        ),
    ]
    return [*consumers, publisher] if forwarding else consumers
