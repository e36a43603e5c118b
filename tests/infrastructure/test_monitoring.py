"""Alarms on the SNS topic, and the dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.template import Synthesized, function_id

QUEUES = ["PollersSpill", "PollersScheduleDlq", "ArtifactCopierFailures", "AggregatorFailures"]
FUNCTIONS = ["Intake", "Query", "Poller", "Copier", "Aggregator"]


def _alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()]


def _alarm_on(synthesized: Synthesized, metric: str, dimensions: list[dict[str, Any]]) -> dict[str, Any]:
    found = [a for a in _alarms(synthesized) if a["MetricName"] == metric and a["Dimensions"] == dimensions]
    assert len(found) == 1, f"expected one alarm on {metric} {dimensions}, found {len(found)}"
    return found[0]


def _topic(synthesized: Synthesized) -> dict[str, str]:
    return {"Ref": synthesized.logical_id("MonitoringAlarmTopic", "AWS::SNS::Topic")}


def test_every_alarm_notifies_the_topic_when_it_fires_and_clears(synthesized: Synthesized) -> None:
    # When the synthesized stack's alarms are read
    alarms = _alarms(synthesized)
    # Then there are some
    assert alarms
    # And each notifies the alarm topic when it fires and when it clears
    for alarm in alarms:
        assert alarm["AlarmActions"] == [_topic(synthesized)]
        assert alarm["OKActions"] == [_topic(synthesized)]
        # And treats missing data as not breaching, and says what it is for
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmDescription"]


@pytest.mark.parametrize("queue", QUEUES)
def test_each_failure_queue_alarms_on_its_first_message(synthesized: Synthesized, queue: str) -> None:
    # Given one of the failure queues
    queue_name = {"Fn::GetAtt": [synthesized.logical_id(queue, "AWS::SQS::Queue"), "QueueName"]}
    # When its alarm is looked up
    alarm = _alarm_on(
        synthesized, "ApproximateNumberOfMessagesVisible", [{"Name": "QueueName", "Value": queue_name}]
    )
    # Then it fires on the first visible message
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_each_function_alarms_on_errors_and_throttles(
    synthesized: Synthesized, function: str, metric: str
) -> None:
    # Given one of the hub's functions
    dims = [{"Name": "FunctionName", "Value": {"Ref": function_id(synthesized, function)}}]
    # When its alarm on errors or on throttles is looked up
    alarm = _alarm_on(synthesized, metric, dims)
    # Then it fires on the first one
    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 1


@pytest.mark.parametrize(
    ("metric", "threshold"),
    [
        ("PollerAuthFailed", 1),
        ("SecretBlank", 1),
        ("SignatureRejected", 25),
        ("ArtifactExpired", 1),
        ("ArtifactFailed", 1),
    ],
)
def test_custom_metric_alarms_read_the_powertools_namespace_service_and_stack(
    synthesized: Synthesized, metric: str, threshold: int
) -> None:
    # Given the dimensions Powertools publishes custom metrics with
    dims = [{"Name": "service", "Value": "eventhub"}, {"Name": "stack", "Value": "EventHub"}]
    # When the alarm on one of the hub's own metrics is looked up
    alarm = _alarm_on(synthesized, metric, dims)
    # Then it reads the hub's namespace and fires at its threshold
    assert alarm["Namespace"] == "EventHub"
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == threshold


@pytest.mark.parametrize("function", ["Aggregator", "Copier"])
def test_stream_consumers_iterator_age_alarm_catches_a_lagging_stream(
    synthesized: Synthesized, function: str
) -> None:
    # Given one of the stream consumers
    dims = [{"Name": "FunctionName", "Value": {"Ref": function_id(synthesized, function)}}]
    # When its iterator-age alarm is looked up
    alarm = _alarm_on(synthesized, "IteratorAge", dims)
    # Then it fires when the oldest record it reads is older than a bound (of at most 15 minutes)
    assert alarm["Statistic"] == "Maximum"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert 0 < alarm["Threshold"] <= 15 * 60 * 1000


def test_alarm_topic_refuses_plain_http(synthesized: Synthesized) -> None:
    # When the alarm topic's policy is read
    (policy,) = synthesized.of_type("AWS::SNS::TopicPolicy").values()
    # Then it applies to the alarm topic
    assert policy["Properties"]["Topics"] == [_topic(synthesized)]
    # And denies requests over plain HTTP
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def _reference(part: dict[str, Any]) -> str:
    if "Ref" in part:
        return str(part["Ref"])
    if "Fn::GetAtt" in part:
        return ".".join(part["Fn::GetAtt"])
    return json.dumps(part).replace('"', "'")


def _widgets(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Dashboard widgets by title; references to resources become their logical ids."""
    (dashboard,) = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(p if isinstance(p, str) else _reference(p) for p in parts))
    return {w["properties"]["title"]: w["properties"] for w in body["widgets"]}


def _metric_names(widget: dict[str, Any]) -> set[str]:
    names = set()
    for line in widget.get("metrics", []):
        strings = [x for x in line if isinstance(x, str)]
        if len(strings) >= 2:
            names.add(strings[1])
        for extra in (x for x in line if isinstance(x, dict)):
            if "expression" in extra:
                names.add(extra["expression"])
    return names


def test_dashboard_shows_ingest_rate_total_and_by_source(synthesized: Synthesized) -> None:
    # When the dashboard's ingest widget is read
    widget = _widgets(synthesized)["Ingest rate by source (EventsStored)"]
    names = _metric_names(widget)
    # Then it graphs the events stored in total
    assert "EventsStored" in names
    # And by source, searched over the hub's dimensions
    assert any(
        n.startswith('SEARCH(\'{EventHub,service,source,stack} MetricName="EventsStored" stack="EventHub"\'')
        for n in names
    )


def test_dashboard_shows_duplicates(synthesized: Synthesized) -> None:
    # When the dashboard's duplicates widget is read
    # Then it graphs the duplicate events
    assert "DuplicateEvents" in _metric_names(_widgets(synthesized)["Duplicates and signature rejections"])


def test_dashboard_shows_p99_intake_latency(synthesized: Synthesized) -> None:
    # When the dashboard's intake latency widget is read
    widget = _widgets(synthesized)["Intake latency p99 (ms)"]
    lines = widget["metrics"]
    # Then it graphs the intake function's duration, and its function URL's request latency
    for metric in ("Duration", "UrlRequestLatency"):
        graphed = [line for line in lines if metric in line]
        assert graphed and function_id(synthesized, "Intake") in graphed[0], metric
    # And every line is the 99th percentile
    assert all(line[-1]["stat"] == "p99" for line in lines)


def test_dashboard_shows_copy_throughput(synthesized: Synthesized) -> None:
    # When the dashboard's copy throughput widget is read
    # Then it graphs the artifact bytes copied
    assert "ArtifactBytesCopied" in _metric_names(
        _widgets(synthesized)["Copy throughput (ArtifactBytesCopied)"]
    )


def test_dashboard_graphs_every_failure_queue_depth(synthesized: Synthesized) -> None:
    # When the dashboard's queue depths widget is read
    widget = _widgets(synthesized)["Queue depths"]
    # Then it graphs visible messages only
    assert _metric_names(widget) == {"ApproximateNumberOfMessagesVisible"}
    # And every failure queue's
    graphed = {x for line in widget["metrics"] for x in line if isinstance(x, str)}
    for queue in QUEUES:
        assert f"{synthesized.logical_id(queue, 'AWS::SQS::Queue')}.QueueName" in graphed, queue
