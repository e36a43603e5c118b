"""The EventStore: the one adapter that reads and writes the events table."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import jsonutil
from functions import table_schema as schema
from functions.adapters.blob_store import BlobStore, artifact_source_key, payload_key
from functions.errors import StoreUnavailable
from functions.models.event import CanonicalEvent, NewEvent
from functions.models.items import from_item, is_event_item, to_item

# DynamoDB items are at most 400 KB; payloads above this live in S3 behind a pointer.
INLINE_PAYLOAD_LIMIT = 350_000

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


class PutOutcome(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class PutResult:
    event_id: str
    outcome: PutOutcome

    @property
    def duplicate(self) -> bool:
        return self.outcome is PutOutcome.DUPLICATE


class ReadMeter:
    """Counts the items DynamoDB read on this adapter's behalf (ScannedCount and friends)."""

    def __init__(self) -> None:
        self.items = 0
        self.calls: list[str] = []

    def add(self, operation: str, items: int) -> None:
        self.items += items
        self.calls.append(operation)


def _unavailable(error: Exception) -> StoreUnavailable:
    code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    return StoreUnavailable(f"event store unavailable ({code})")


class EventStore:
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

    # -- writes ----------------------------------------------------------------------------

    def put(self, new: NewEvent) -> PutResult:
        """Store an event once. New or duplicate; StoreUnavailable if it is not durable."""
        event = new.event
        payload_text = jsonutil.dumps(event.payload)
        written: list[str] = []
        payload_ref = None
        try:
            for index, url in enumerate(new.artifact_urls):
                key = artifact_source_key(event.id, index)
                self.blobs.put(key, url.encode(), "text/plain")
            if len(payload_text.encode()) > self.inline_limit:
                digest = hashlib.sha256(payload_text.encode()).hexdigest()
                payload_ref = payload_key(event.tenant_id, event.id, digest)
                self.blobs.put(payload_ref, payload_text.encode(), "application/json")
                written.append(payload_ref)
            item = to_item(
                event,
                payload_text=None if payload_ref else payload_text,
                payload_ref=payload_ref,
                expires_at=self._expires_at(),
            )
            self.ddb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": schema.PARTITION_KEY},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                self._forget_unreferenced(event.id, written)
                return PutResult(event.id, PutOutcome.DUPLICATE)
            self._forget(written)
            raise _unavailable(error) from None
        except BotoCoreError as error:
            self._forget(written)
            raise _unavailable(error) from None
        except StoreUnavailable:
            self._forget(written)
            raise
        return PutResult(event.id, PutOutcome.NEW)

    def _expires_at(self) -> int | None:
        if self.retention_days <= 0:
            return None
        return int(time.time()) + self.retention_days * 86_400

    def _forget(self, keys: list[str]) -> None:
        for key in keys:
            self.blobs.delete(key)

    def _forget_unreferenced(self, event_id: str, keys: list[str]) -> None:
        """After a duplicate: remove a payload object the stored event does not point at."""
        if not keys:
            return
        stored = self._get_item(event_id, ["payloadRef"])
        ref = (stored or {}).get("payloadRef", {}).get("S")
        self._forget([key for key in keys if key != ref])

    # -- reads -----------------------------------------------------------------------------

    def get(self, event_id: str) -> CanonicalEvent | None:
        item = self._get_item(event_id)
        if item is None or not is_event_item(item):
            return None
        return from_item(item, self._load_payload)

    def get_for_tenant(self, event_id: str, tenant_id: str) -> CanonicalEvent | None:
        event = self.get(event_id)
        if event is None or event.tenant_id != tenant_id:
            return None
        return event

    def _get_item(self, event_id: str, attributes: list[str] | None = None) -> dict[str, Any] | None:
        params: dict[str, Any] = {"TableName": self.table, "Key": {schema.PARTITION_KEY: {"S": event_id}}}
        if attributes:
            params["ProjectionExpression"] = ", ".join(f"#a{i}" for i in range(len(attributes)))
            params["ExpressionAttributeNames"] = {f"#a{i}": name for i, name in enumerate(attributes)}
        try:
            response = self.ddb.get_item(**params)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from None
        self.meter.add("GetItem", 1 if "Item" in response else 0)
        return response.get("Item")

    def _load_payload(self, item: dict[str, Any]) -> Any:
        if "payloadRef" in item:
            return jsonutil.loads(self.blobs.get(item["payloadRef"]["S"]))
        return jsonutil.loads(item.get("payload", {}).get("S", "{}"))
