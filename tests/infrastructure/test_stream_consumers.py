"""The copier and the aggregator on the table's stream: filters, failure handling, destinations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventhub.local.streams.filters import matches
from functions.models.event import Artifact, CanonicalEvent
from functions.models.items import to_item
from tests.infrastructure.template import Synthesized, function_id


def _mapping(synthesized: Synthesized, function: str) -> dict[str, Any]:
    target = {"Ref": function_id(synthesized, function)}
    (mapping,) = [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == target
    ]
    return mapping


def _matches(pattern: Any, record: Any) -> bool:
    """Lambda's event-filter rules, as the local stream dispatcher implements them."""
    return matches(pattern, record)


def _record(event_name: str, image: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": event_name, "dynamodb": {"NewImage": image, "SequenceNumber": "1"}}


def _event(artifact_status: str | None) -> CanonicalEvent:
    artifacts = [] if artifact_status is None else [
        Artifact(name="result", source_url="https://bucket.s3.amazonaws.com/r.json", status=artifact_status)
    ]  # fmt: skip
    return CanonicalEvent(
        id="5f0c6c2e-7a43-5a3c-9f5e-0a1b2c3d4e5f",
        tenant_id="acme",
        source="klavi",
        source_event_id="evt-1",
        event_type="analysis.analysis_finished",
        occurred_at="2025-02-26T20:08:17.848Z",
        received_at="2025-02-26T20:08:18.000Z",
        channel="poll",
        artifacts=artifacts,
    )


def _item(artifact_status: str | None) -> dict[str, Any]:
    return to_item(_event(artifact_status), payload_text="{}", payload_ref=None)


@pytest.mark.parametrize(
    ("function", "field", "expected"),
    [
        ("Copier", "BatchSize", 4),
        ("Copier", "MaximumRetryAttempts", 3),
        ("Copier", "MaximumRecordAgeInSeconds", 6 * 3600),
        ("Aggregator", "BatchSize", 100),
        ("Aggregator", "MaximumRecordAgeInSeconds", 24 * 3600),
    ],
)
def test_stream_consumers_retry_a_bounded_number_of_times(
    synthesized: Synthesized, function: str, field: str, expected: int
) -> None:
    # When a stream consumer's event source mapping is read
    # Then its batch size, retries and oldest record it still processes are bounded
    assert _mapping(synthesized, function)[field] == expected


def test_the_aggregator_learns_its_shard_and_retries_until_records_expire(
    synthesized: Synthesized,
) -> None:
    # When the aggregator's event source mapping is read
    mapping = _mapping(synthesized, "Aggregator")
    # Then it has a tumbling window (how Lambda passes the shard id the counters' watermarks need)
    assert mapping["TumblingWindowInSeconds"] == 900
    # And one batch of a shard at a time, as the watermarks assume
    assert mapping.get("ParallelizationFactor", 1) == 1
    # And a failing batch is retried until its records leave the stream (-1, the default): a batch
    # given up while the shard went on could not be counted again exactly
    assert "MaximumRetryAttempts" not in mapping
    # And batches wait up to a minute to fill, as a batch costs one write per counter it touches
    assert mapping["MaximumBatchingWindowInSeconds"] == 60


def test_the_local_aggregator_subscription_is_the_stacks(synthesized: Synthesized) -> None:
    # Given the aggregator's mapping in the stack and the local stack's subscription
    from eventhub.local.streams.subscriptions import local_subscriptions

    mapping = _mapping(synthesized, "Aggregator")
    (local,) = [s for s in local_subscriptions() if s.name == "aggregator"]
    # Then the local one has the same batch size, tumbling window and bisecting
    assert local.batch_size == mapping["BatchSize"]
    assert local.tumbling_window_seconds == mapping["TumblingWindowInSeconds"]
    assert local.bisect_on_error == mapping["BisectBatchOnFunctionError"]


@pytest.mark.parametrize(
    ("function", "queue", "bisects"),
    [("Copier", "ArtifactCopierFailures", True), ("Aggregator", "AggregatorFailures", False)],
)
def test_stream_consumers_report_item_failures_and_keep_what_failed(
    synthesized: Synthesized, function: str, queue: str, bisects: bool
) -> None:
    # When a stream consumer's event source mapping is read
    mapping = _mapping(synthesized, function)
    # Then it reads the events table's stream from the oldest record kept
    assert mapping["EventSourceArn"] == {
        "Fn::GetAtt": [synthesized.logical_id("EventStoreEvents", "AWS::DynamoDB::Table"), "StreamArn"]
    }
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    # And it reports item failures; the copier bisects a failing batch, the aggregator retries it
    # whole (its counters' watermarks need each shard's records in order)
    assert mapping["BisectBatchOnFunctionError"] is bisects
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And sends what still fails to its own failure queue
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [synthesized.logical_id(queue, "AWS::SQS::Queue"), "Arn"]
    }


def _pattern(synthesized: Synthesized, function: str) -> Any:
    (only,) = _mapping(synthesized, function)["FilterCriteria"]["Filters"]
    return json.loads(only["Pattern"])


def test_copier_sees_new_and_changed_events_with_pending_artifacts_only(synthesized: Synthesized) -> None:
    # Given the copier's stream filter
    pattern = _pattern(synthesized, "Copier")
    # When stream records of events are matched against it
    # Then it lets through inserted and modified events with pending artifacts
    assert _matches(pattern, _record("INSERT", _item("pending")))
    assert _matches(pattern, _record("MODIFY", _item("pending")))
    # And not events whose artifacts are all copied, events with no artifacts, nor removals
    assert not _matches(pattern, _record("MODIFY", _item("copied")))  # pendingArtifacts = 0
    assert not _matches(pattern, _record("INSERT", _item(None)))  # no artifacts at all
    assert not _matches(pattern, _record("REMOVE", _item("pending")))


def test_aggregator_sees_inserted_events_only(synthesized: Synthesized) -> None:
    # Given the aggregator's stream filter
    pattern = _pattern(synthesized, "Aggregator")
    # When stream records of events and counters are matched against it
    # Then it lets through inserted events, with or without artifacts
    assert _matches(pattern, _record("INSERT", _item(None)))
    assert _matches(pattern, _record("INSERT", _item("pending")))
    # And not modifications
    assert not _matches(pattern, _record("MODIFY", _item("copied")))
    # And not inserted counter items
    counter_item = {"id": {"S": "counter#acme#day#2025-02-26"}, "kind": {"S": "counter"}}
    assert not _matches(pattern, _record("INSERT", counter_item))
