"""Fault injection for the local runtime: a fraction of the handlers' DynamoDB writes fail as
throttled, exactly as DynamoDB answers when a partition is over its limit. Off by default.

Installed as a botocore ``before-call`` hook on the handlers' DynamoDB client, so the request
never reaches moto and botocore's retries do not hide it: every injected fault is one
``ProvisionedThroughputExceededException`` seen by the adapter.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from botocore.exceptions import ClientError

# The functions' item writes: events, checkpoints and leases (PutItem); copy outcomes and the
# aggregator's counters (UpdateItem).
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem"})
THROTTLED = "ProvisionedThroughputExceededException"


class StoreFaults:
    def __init__(
        self, rate: float, *, seed: int | None = None, operations: frozenset[str] = WRITE_OPERATIONS
    ) -> None:
        self.rate = 0.0
        self.set_rate(rate)
        self.operations = operations
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self._lock = threading.Lock()
        self.calls = 0
        self.injected = 0
        self.injected_by_operation: dict[str, int] = {}

    def set_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"store fault rate must be between 0 and 1, got {rate}")
        self.rate = rate

    def _should_fail(self, operation: str) -> bool:
        with self._lock:
            self.calls += 1
            if self.rate > 0 and self._random.random() < self.rate:
                self.injected += 1
                self.injected_by_operation[operation] = self.injected_by_operation.get(operation, 0) + 1
                return True
            return False

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rate": self.rate,
                "calls": self.calls,
                "injected": self.injected,
                "injectedByOperation": dict(self.injected_by_operation),
            }

    def _before_call(self, model: Any, **_: Any) -> None:
        if model.name in self.operations and self._should_fail(model.name):
            raise ClientError(
                {
                    "Error": {"Code": THROTTLED, "Message": "injected fault: throughput exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                model.name,
            )

    def install(self, dynamodb_client: Any) -> None:
        for operation in self.operations:
            dynamodb_client.meta.events.register(f"before-call.dynamodb.{operation}", self._before_call)

    def uninstall(self, dynamodb_client: Any) -> None:
        for operation in self.operations:
            dynamodb_client.meta.events.unregister(f"before-call.dynamodb.{operation}", self._before_call)
