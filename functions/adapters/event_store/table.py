"""The events table as the store's parts share it: name, client, bucket, read meter, item reads."""

from __future__ import annotations

import threading
from typing import Any

from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.blob_store import BlobStore

# DynamoDB items are at most 400 KB; payloads above this live in S3 behind a pointer.
INLINE_PAYLOAD_LIMIT = 350_000
WHAT = "event store"


class ReadMeter:
    """Counts the items DynamoDB read on this adapter's behalf (ScannedCount and friends)."""

    def __init__(self) -> None:
        self.items = 0
        self.calls: list[str] = []
        self.by_operation: dict[str, int] = {}
        self._lock = threading.Lock()  # reads of one request may run on several threads

    def add(self, operation: str, items: int) -> None:
        with self._lock:
            self.items += items
            self.calls.append(operation)
            self.by_operation[operation] = self.by_operation.get(operation, 0) + items

    def reset(self) -> None:
        self.items = 0
        self.calls.clear()
        self.by_operation.clear()


class Table:
    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any,
        blobs: BlobStore,
        *,
        retention_days: int = 0,
        inline_limit: int = INLINE_PAYLOAD_LIMIT,
    ) -> None:
        self.table = table_name
        self.ddb = dynamodb_client
        self.blobs = blobs
        self.retention_days = retention_days
        self.inline_limit = inline_limit
        self.meter = ReadMeter()

    def _get_item(
        self, item_id: str, attributes: list[str] | None = None, *, consistent: bool = False
    ) -> dict[str, Any] | None:
        params: dict[str, Any] = {"TableName": self.table, "Key": {schema.PARTITION_KEY: {"S": item_id}}}
        if consistent:
            params["ConsistentRead"] = True
        params.update(dynamodb.projection(attributes or ()))
        response = dynamodb.call(WHAT, self.ddb.get_item, **params)
        self.meter.add("GetItem", 1 if "Item" in response else 0)
        return response.get("Item")
