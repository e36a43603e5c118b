"""The dashboard's ingest lines per provider: EventsStored also carries a `source` dimension."""

from __future__ import annotations

import json

import pytest

from functions.observability import count_by_source


def _emf_blobs(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def test_a_stored_event_is_counted_under_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    # When one stored event is counted under its source
    count_by_source("EventsStored", "klavi")
    # Then one metric blob is emitted in the hub's namespace
    (blob,) = _emf_blobs(capsys.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "EventHub"
    # And with the source among its dimensions, beside service and stack
    assert sorted(directive["Dimensions"][0]) == ["service", "source", "stack"]
    assert blob["source"] == "klavi" and blob["service"] == "eventhub" and blob["stack"] == "local"
    # And its count is one
    assert blob["EventsStored"] in (1.0, [1.0])


def test_nothing_is_emitted_for_zero(capsys: pytest.CaptureFixture[str]) -> None:
    # When nothing is counted under a source
    count_by_source("EventsStored", "vai", 0)
    # Then no metric blob is emitted
    assert _emf_blobs(capsys.readouterr().out) == []


def test_nothing_is_emitted_when_metrics_are_disabled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Powertools' switch for metrics turned off (what `make poll` and `make demo` do)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    # When a stored event is counted under its source
    count_by_source("EventsStored", "klavi")

    # Then no metric blob is printed
    assert _emf_blobs(capsys.readouterr().out) == []
