"""Lambda consumers of the events table's stream: the artifact copier, the aggregator and the
publisher (forwarding to the hub's EventBridge bus).

Each reports batch item failures and sends the coordinates of the records it gives up to an
SQS on-failure destination. The copier and the publisher bisect a batch whose invocation failed
and retry a bounded number of times; the aggregator retries its batches whole until their records
leave the stream, in order, as its counters' watermarks need (a bisected batch's halves could
reach a counter out of order). Event filters keep
each function's invocations to the records it acts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.models.items import AGGREGATOR_STREAM_FILTER, COPIER_STREAM_FILTER, PUBLISHER_STREAM_FILTERS
from infra import constants as c
from infra.components.queues import terminal_queue

# The same filters drive the local stream dispatcher (functions/models/items.py), so what the
# stack invokes and what a local run invokes cannot drift apart. Stream records carry numbers as
# strings, so the copier's "pending artifacts > 0" is "present and not '0'".
COPIER_FILTER: dict[str, Any] = COPIER_STREAM_FILTER
AGGREGATOR_FILTER: dict[str, Any] = AGGREGATOR_STREAM_FILTER


def _consume_stream(
    scope: Construct,
    *,
    function: lambda_.Function,
    table: dynamodb.ITable,
    failures: sqs.IQueue,
    patterns: Sequence[dict[str, Any]],
    batch_size: int,
    retry_attempts: int | None,
    max_record_age: Duration,
    batching_window: Duration | None = None,
    tumbling_window: Duration | None = None,
    bisect: bool = True,
) -> sources.DynamoEventSource:
    source = sources.DynamoEventSource(
        table,
        starting_position=lambda_.StartingPosition.TRIM_HORIZON,
        batch_size=batch_size,
        max_batching_window=batching_window,
        tumbling_window=tumbling_window,
        bisect_batch_on_error=bisect,
        report_batch_item_failures=True,
        retry_attempts=retry_attempts,
        max_record_age=max_record_age,
        on_failure=sources.SqsDlq(failures),
        filters=[lambda_.FilterCriteria.filter(pattern) for pattern in patterns],
    )
    function.add_event_source(source)
    NagSuppressions.add_resource_suppressions(
        function.role,  # type: ignore[arg-type]
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="Stream consumer: dynamodb:ListStreams has no resource-level permissions and is "
                "granted on '*'; the stream read actions are on this table's stream only.",
                applies_to=["Resource::*"],
            )
        ],
        apply_to_children=True,
    )
    return source


class ArtifactCopier(Construct):
    """Stream records of events with pending artifacts -> copier."""

    def __init__(
        self, scope: Construct, construct_id: str, *, copier: lambda_.Function, table: dynamodb.ITable
    ) -> None:
        super().__init__(scope, construct_id)
        self.failures = terminal_queue(self, "Failures", holds="stream records the copier failed on")
        self.source = _consume_stream(
            self,
            function=copier,
            table=table,
            failures=self.failures,
            patterns=[COPIER_FILTER],
            batch_size=c.COPIER_BATCH_SIZE,
            retry_attempts=c.COPIER_RETRY_ATTEMPTS,
            max_record_age=c.COPIER_MAX_RECORD_AGE,
        )


class Aggregator(Construct):
    """Stream records of new events -> aggregator (counter items)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, aggregator: lambda_.Function, table: dynamodb.ITable
    ) -> None:
        super().__init__(scope, construct_id)
        self.failures = terminal_queue(self, "Failures", holds="stream batches the aggregator failed on")
        self.source = _consume_stream(
            self,
            function=aggregator,
            table=table,
            failures=self.failures,
            patterns=[AGGREGATOR_FILTER],
            batch_size=c.AGGREGATOR_BATCH_SIZE,
            retry_attempts=c.AGGREGATOR_RETRY_ATTEMPTS,
            max_record_age=c.AGGREGATOR_MAX_RECORD_AGE,
            batching_window=c.AGGREGATOR_BATCHING_WINDOW,
            tumbling_window=c.AGGREGATOR_TUMBLING_WINDOW,
            bisect=False,
        )


class Forwarding(Construct):
    """The hub's event bus (with an archive for replays) and its publisher on the table's stream.

    Routing is the consumers' own EventBridge rules on this bus; the publisher may only put."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        publisher: lambda_.Function,
        table: dynamodb.ITable,
        archive_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{stack.stack_name}-events")
        if archive_days:
            self.bus.archive(
                "Archive",
                archive_name=f"{stack.stack_name}-events",
                description="every entry the hub published, for consumers' replays",
                event_pattern=events.EventPattern(account=[stack.account]),
                retention=Duration.days(archive_days),
            )
        self.bus.grant_put_events_to(publisher)
        publisher.add_environment("EVENT_BUS_NAME", self.bus.event_bus_name)
        self.failures = terminal_queue(self, "Failures", holds="stream records the publisher failed on")
        self.source = _consume_stream(
            self,
            function=publisher,
            table=table,
            failures=self.failures,
            patterns=list(PUBLISHER_STREAM_FILTERS),
            batch_size=c.PUBLISHER_BATCH_SIZE,
            retry_attempts=c.PUBLISHER_RETRY_ATTEMPTS,
            max_record_age=c.PUBLISHER_MAX_RECORD_AGE,
            batching_window=c.PUBLISHER_BATCHING_WINDOW,
        )
