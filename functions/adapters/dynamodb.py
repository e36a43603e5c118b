"""DynamoDB calls as every adapter makes them: one error mapping, one backoff.

Transient errors of a single call (throttling, 5xx, dropped connections) are retried by botocore
itself: the functions' clients use its ``standard`` retry mode (``factory.client``), which backs
off with jitter on exactly those errors. What botocore cannot retry is what a *successful* answer
leaves undone, the UnprocessedKeys of a BatchGetItem and the UnprocessedItems of a BatchWriteItem.
Those go through ``Backoff``; so does a counter write (``CounterStore``), where one write that
fails makes its whole batch, hundreds of writes, run again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.errors import StoreUnavailable

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem


def error_code(error: Exception) -> str:
    """DynamoDB's error code, or the botocore exception's name (connection errors and the like)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def is_condition_failure(error: Exception) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


class Unprocessed(StoreUnavailable):
    """A batch call kept leaving keys or items unprocessed through every attempt."""


def unavailable(what: str, error: Exception | str) -> StoreUnavailable:
    """The one failure a caller sees: ``"<what> unavailable (<code>)"``, so 5xx answers and stream
    retries follow, and no botocore detail reaches a response."""
    detail = error if isinstance(error, str) else error_code(error)
    return StoreUnavailable(f"{what} unavailable ({detail})")


class Backoff:
    """Attempts with full-jitter exponential pauses between them (none before the first)."""

    def __init__(
        self, *, attempts: int = 8, base_seconds: float = 0.02, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.attempts = attempts
        self.base_seconds = base_seconds
        self._sleep = sleep

    def __iter__(self) -> Iterator[int]:
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(random.uniform(0, self.base_seconds * 2**attempt))  # noqa: S311 - jitter
            yield attempt


def projection(attributes: Sequence[str]) -> dict[str, Any]:
    """The parameters that make a read return only these attributes (none: the whole item)."""
    if not attributes:
        return {}
    return {
        "ProjectionExpression": ", ".join(f"#a{i}" for i in range(len(attributes))),
        "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(attributes)},
    }


def call(what: str, operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    """One DynamoDB call, its errors mapped to ``StoreUnavailable`` (conditional failures too:
    callers that expect one catch ``ClientError`` themselves)."""
    try:
        return operation(**params)
    except (ClientError, BotoCoreError) as error:
        raise unavailable(what, error) from None


class ConditionFailed(Exception):
    """A conditional write whose condition was false: nothing was written."""


def conditional(what: str, operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    """One conditional DynamoDB call: ``ConditionFailed`` when its condition was false,
    ``StoreUnavailable`` for any other failure."""
    try:
        return operation(**params)
    except (ClientError, BotoCoreError) as error:
        if is_condition_failure(error):
            raise ConditionFailed(what) from None
        raise unavailable(what, error) from None


def batch_get(
    ddb: Any, table: str, request: dict[str, Any], what: str, backoff: Backoff
) -> Iterator[list[dict[str, Any]]]:
    """The items a BatchGetItem ``request`` (at most 100 keys) finds, one list per answer, asking
    again for the unprocessed keys; ``Unprocessed`` when some stay unprocessed."""
    pending: dict[str, Any] = {table: request}
    for _ in backoff:
        response = call(what, ddb.batch_get_item, RequestItems=pending)
        yield response.get("Responses", {}).get(table, [])
        pending = response.get("UnprocessedKeys") or {}
        if not pending:
            return
    raise Unprocessed(f"{what} unavailable (unprocessed keys)")


def batch_write(ddb: Any, table: str, requests: list[dict[str, Any]], what: str, backoff: Backoff) -> None:
    """Every put/delete request written, 25 at a time, the unprocessed ones written again."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table: requests[start : start + BATCH_WRITE_LIMIT]}
        for _ in backoff:
            response = call(what, ddb.batch_write_item, RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise Unprocessed(f"{what} unavailable (unprocessed items)")
