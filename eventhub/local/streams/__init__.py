"""The table's stream, dispatched to functions the way Lambda's event source mappings do it.

Each ``Subscription`` stands for one event source mapping: it reads the stream on its own
(its own position per shard), keeps the records its filter patterns match (the same patterns
the stack gives Lambda, same rules), groups them in batches, and invokes its handler with a
real DynamoDB stream event. What comes back is honoured like Lambda honours it:

- ``batchItemFailures``: the batch is retried from the first failed record (an identifier
  that is not in the batch fails the whole batch);
- an exception (a function error): with ``bisect_on_error`` the batch is split in two and
  each half retried (splitting does not count as a retry);
- after ``max_retry_attempts`` retries the records are given up: a message in Lambda's
  on-failure format (the batch's shard and sequence numbers, not the records) goes to the
  subscription's on-failure queue, and the position moves on.

One module per job: ``subscriptions`` (the stack's consumers), ``filters`` (Lambda's filter
rules), ``reader`` (a subscription's position in the stream), ``delivery`` (one batch, its
retries and its on-failure message) and ``dispatcher`` (the background service).
``python -m eventhub.local`` runs one ``StreamDispatcher`` with the copier and the aggregator
(found here by ``eventhub.local.services`` through ``local_services``); tests drive
``poll_once()`` or ``deliver()`` directly.
"""

from eventhub.local.streams.delivery import Delivery, Invocation, Invoke, deliver, failure_message
from eventhub.local.streams.dispatcher import SendFailure, StreamDispatcher, local_services
from eventhub.local.streams.filters import admitted, matches
from eventhub.local.streams.reader import StreamReader, lambda_record
from eventhub.local.streams.subscriptions import (
    AGGREGATOR_HANDLER,
    COPIER_HANDLER,
    Subscription,
    local_subscriptions,
)

__all__ = [
    "AGGREGATOR_HANDLER",
    "COPIER_HANDLER",
    "Delivery",
    "Invocation",
    "Invoke",
    "SendFailure",
    "StreamDispatcher",
    "StreamReader",
    "Subscription",
    "admitted",
    "deliver",
    "failure_message",
    "lambda_record",
    "local_services",
    "local_subscriptions",
    "matches",
]
