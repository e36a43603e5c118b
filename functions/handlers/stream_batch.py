"""A DynamoDB stream batch handled record by record, its failures reported by sequence number.

What Powertools' ``BatchProcessor`` does for a stream mapping with ``ReportBatchItemFailures``,
in a few lines: every record is tried; each one that raised is reported in
``batchItemFailures`` (Lambda retries the batch from the first of them); when every record
failed, the invocation raises instead, so that Lambda bisects the batch. Written here because
the batch utility's import (its data classes and pydantic parser models) cost the copier's cold
start more than the rest of its imports (docs/performance.md, "Cold start").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from functions.observability import logger


class BatchFailed(Exception):
    """Every record of the batch failed: a function error, so Lambda bisects and retries."""


def sequence_number(record: Mapping[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def partial_response(
    event: Mapping[str, Any], handle: Callable[[Mapping[str, Any]], None]
) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not a DynamoDB stream batch: the event has no Records list")
    failed: list[str] = []
    errors: list[Exception] = []
    for record in records:
        try:
            handle(record)
        except Exception as error:  # one record's failure must not stop the others
            sequence = sequence_number(record)
            logger.debug("stream record failed", extra={"sequence": sequence, "error": repr(error)})
            failed.append(sequence)
            errors.append(error)
    if records and len(failed) == len(records):
        raise BatchFailed(f"all {len(records)} records of the batch failed") from errors[0]
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
