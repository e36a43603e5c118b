"""The dashboard's ingest lines per provider: the invocation's metrics also carry a `source`
dimension, in the same EMF document (one log line per invocation)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.observability import count_by_source, metrics


def _emf_blobs(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


@pytest.fixture(autouse=True)
def fresh_metrics() -> Any:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_a_stored_event_is_counted_under_its_source_in_the_invocations_one_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When an invocation stores an event and counts it under its source
    metrics.add_metric(name="EventsStored", unit="Count", value=1)
    count_by_source("klavi")
    metrics.add_metadata(key="event_id", value="evt-1")
    metrics.flush_metrics()
    # Then one metric document is printed, in the hub's namespace
    (blob,) = _emf_blobs(capsys.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "EventHub"
    # And its metrics are published twice: under service and stack, and with the source beside them
    assert sorted(map(sorted, directive["Dimensions"])) == [
        ["service", "source", "stack"],
        ["service", "stack"],
    ]
    assert blob["source"] == "klavi" and blob["service"] == "eventhub" and blob["stack"] == "local"
    # And its count is one, and what a log line would say rides along
    assert blob["EventsStored"] in (1.0, [1.0]) and blob["event_id"] == "evt-1"


def test_nothing_is_counted_under_a_source_for_zero(capsys: pytest.CaptureFixture[str]) -> None:
    # When a poll stores nothing new
    metrics.add_metric(name="EventsStored", unit="Count", value=0)
    count_by_source("vai", 0)
    metrics.flush_metrics()
    # Then the document has the plain dimension set only
    (blob,) = _emf_blobs(capsys.readouterr().out)
    assert [sorted(d) for d in blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]] == [["service", "stack"]]
    assert "source" not in blob


def test_nothing_is_emitted_when_metrics_are_disabled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Powertools' switch for metrics turned off (what `make poll` and `make demo` do)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    # When a stored event is counted under its source and the invocation ends
    metrics.add_metric(name="EventsStored", unit="Count", value=1)
    count_by_source("klavi")
    metrics.flush_metrics()
    # Then no metric document is printed
    assert _emf_blobs(capsys.readouterr().out) == []
