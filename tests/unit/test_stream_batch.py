"""A stream batch handled record by record: failures reported by sequence number, as Lambda reads them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from functions.handlers.stream_batch import BatchFailed, partial_response


def batch(*sequences: str) -> dict[str, Any]:
    return {"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": s}} for s in sequences]}


def failing(*bad: str) -> tuple[list[str], Any]:
    seen: list[str] = []

    def handle(record: Mapping[str, Any]) -> None:
        sequence = record["dynamodb"]["SequenceNumber"]
        seen.append(sequence)
        if sequence in bad:
            raise RuntimeError(f"record {sequence} failed")

    return seen, handle


def test_a_batch_without_failures_reports_none() -> None:
    # Given three records that all succeed
    seen, handle = failing()
    # When the batch is handled
    response = partial_response(batch("1", "2", "3"), handle)
    # Then each record was handled once, in order, and nothing is reported
    assert seen == ["1", "2", "3"]
    assert response == {"batchItemFailures": []}


def test_every_failed_record_is_reported_and_the_others_still_run() -> None:
    # Given a batch whose second and fourth records fail
    seen, handle = failing("2", "4")
    # When the batch is handled
    response = partial_response(batch("1", "2", "3", "4"), handle)
    # Then every record ran, and the two failures are reported by sequence number
    assert seen == ["1", "2", "3", "4"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "4"}]}


def test_a_batch_whose_every_record_failed_is_a_function_error() -> None:
    # Given a batch in which every record fails
    _, handle = failing("1", "2")
    # When the batch is handled, Then the invocation raises (Lambda then bisects the batch),
    # chained to the first record's error
    with pytest.raises(BatchFailed) as raised:
        partial_response(batch("1", "2"), handle)
    assert str(raised.value.__cause__) == "record 1 failed"


def test_an_empty_batch_reports_nothing() -> None:
    # Given no records, When the batch is handled, Then nothing is reported and nothing raised
    assert partial_response({"Records": []}, failing()[1]) == {"batchItemFailures": []}


def test_an_event_that_is_not_a_batch_is_refused() -> None:
    # Given an event without Records, When it is handled, Then it is refused by name
    with pytest.raises(ValueError, match="no Records list"):
        partial_response({"action": "something"}, failing()[1])
