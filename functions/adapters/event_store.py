"""The EventStore: the one adapter that reads and writes the events table."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import jsonutil
from functions import table_schema as schema
from functions.adapters.blob_store import BlobStore, artifact_source_key, payload_key
from functions.errors import StoreUnavailable
from functions.models.event import Artifact, CanonicalEvent, NewEvent
from functions.models.items import (
    ARTIFACTS_ATTRIBUTE,
    PENDING_ARTIFACTS_ATTRIBUTE,
    artifact_attributes,
    artifact_from_attr,
    from_item,
    is_event_item,
    to_item,
)

# DynamoDB items are at most 400 KB; payloads above this live in S3 behind a pointer.
INLINE_PAYLOAD_LIMIT = 350_000
# The pollers' bookkeeping items (the ``kind`` attribute tells them from events).
CHECKPOINT_KIND = "checkpoint"
LOCK_KIND = "lock"
# Artifact updates are optimistic: the artifacts list carries a version number.
ARTIFACTS_VERSION = "artifactsVersion"
ARTIFACT_UPDATE_ATTEMPTS = 8
UNCHANGED: Any = object()

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
        self.by_operation: dict[str, int] = {}

    def add(self, operation: str, items: int) -> None:
        self.items += items
        self.calls.append(operation)
        self.by_operation[operation] = self.by_operation.get(operation, 0) + items

    def reset(self) -> None:
        self.items = 0
        self.calls.clear()
        self.by_operation.clear()


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

    # -- artifacts -------------------------------------------------------------------------

    def update_artifact(
        self,
        event_id: str,
        index: int,
        change: Callable[[Artifact], Artifact | None],
        *,
        payload: Any = UNCHANGED,
    ) -> Artifact | None:
        """Read-modify-write artifact ``index`` of an event under an optimistic lock.

        ``change`` gets the stored artifact and returns its new state, or None to leave the
        item alone (then this returns None). ``pendingArtifacts`` is recomputed from the list.
        With ``payload``, the event's payload is replaced in the same write (inline, or in S3
        behind ``payloadRef`` if large). Returns the artifact as written.
        """
        for _ in range(ARTIFACT_UPDATE_ATTEMPTS):
            wanted = ["tenantId", ARTIFACTS_ATTRIBUTE, ARTIFACTS_VERSION, "payloadRef"]
            item = self._get_item(event_id, wanted, consistent=True)
            if item is None or ARTIFACTS_ATTRIBUTE not in item:
                return None
            artifacts = [artifact_from_attr(a) for a in item[ARTIFACTS_ATTRIBUTE]["L"]]
            if not 0 <= index < len(artifacts):
                return None
            updated = change(artifacts[index])
            if updated is None:
                return None
            artifacts[index] = updated
            version = int(item.get(ARTIFACTS_VERSION, {}).get("N", "0"))
            old_ref = item.get("payloadRef", {}).get("S")
            attributes = artifact_attributes(artifacts)
            names = {
                "#id": schema.PARTITION_KEY,
                "#a": ARTIFACTS_ATTRIBUTE,
                "#p": PENDING_ARTIFACTS_ATTRIBUTE,
                "#v": ARTIFACTS_VERSION,
            }
            values = {
                ":a": attributes[ARTIFACTS_ATTRIBUTE],
                ":p": attributes[PENDING_ARTIFACTS_ATTRIBUTE],
                ":next": {"N": str(version + 1)},
            }
            expression = "SET #a = :a, #p = :p, #v = :next"
            if version:
                condition = "attribute_exists(#id) AND #v = :version"
                values[":version"] = {"N": str(version)}
            else:
                condition = "attribute_exists(#id) AND attribute_not_exists(#v)"
            new_ref = None
            if payload is not UNCHANGED:
                new_ref, text = self._payload_location(item["tenantId"]["S"], event_id, payload)
                names.update({"#payload": "payload", "#ref": "payloadRef"})
                if new_ref is None:
                    expression += ", #payload = :payload REMOVE #ref"
                    values[":payload"] = {"S": text}
                else:
                    expression += ", #ref = :ref REMOVE #payload"
                    values[":ref"] = {"S": new_ref}
            try:
                self.ddb.update_item(
                    TableName=self.table,
                    Key={schema.PARTITION_KEY: {"S": event_id}},
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # another writer got there first: read again
                raise _unavailable(error) from None
            except BotoCoreError as error:
                raise _unavailable(error) from None
            if payload is not UNCHANGED and old_ref and old_ref != new_ref:
                self.blobs.delete(old_ref)
            return updated
        raise StoreUnavailable("event store unavailable (artifact update kept conflicting)")

    def _payload_location(self, tenant_id: str, event_id: str, payload: Any) -> tuple[str | None, str]:
        """Where a replacement payload goes: (None, text) inline, or (S3 key, text) once written."""
        text = jsonutil.dumps(payload)
        data = text.encode()
        if len(data) <= self.inline_limit:
            return None, text
        key = payload_key(tenant_id, event_id, hashlib.sha256(data).hexdigest())
        self.blobs.put(key, data, "application/json")
        return key, text

    def get_without_payload(self, event_id: str) -> CanonicalEvent | None:
        """The event with ``payload`` left as None: no S3 read for a large payload."""
        item = self._get_item(event_id)
        if item is None or not is_event_item(item):
            return None
        return from_item(item, lambda _item: None)

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

    def _get_item(
        self, event_id: str, attributes: list[str] | None = None, *, consistent: bool = False
    ) -> dict[str, Any] | None:
        params: dict[str, Any] = {"TableName": self.table, "Key": {schema.PARTITION_KEY: {"S": event_id}}}
        if consistent:
            params["ConsistentRead"] = True
        if attributes:
            params["ProjectionExpression"] = ", ".join(f"#a{i}" for i in range(len(attributes)))
            params["ExpressionAttributeNames"] = {f"#a{i}": name for i, name in enumerate(attributes)}
        try:
            response = self.ddb.get_item(**params)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from None
        self.meter.add("GetItem", 1 if "Item" in response else 0)
        return response.get("Item")

    def event_of(self, item: dict[str, Any]) -> CanonicalEvent:
        """A stored event item (as read by any query) as the canonical event, payload loaded."""
        return from_item(item, self._load_payload)

    def _load_payload(self, item: dict[str, Any]) -> Any:
        if "payloadRef" in item:
            return jsonutil.loads(self.blobs.get(item["payloadRef"]["S"]))
        return jsonutil.loads(item.get("payload", {}).get("S", "{}"))

    # -- pollers: which ids exist, checkpoints, run leases ----------------------------------------
    # Checkpoints and leases are items of their own kind ("checkpoint#<connectionId>",
    # "lock#<name>"): no index keys, so no query ever returns them.

    def existing_ids(self, event_ids: list[str]) -> set[str]:
        """Which of these ids are stored (BatchGetItem, keys only). Eventually consistent: an id
        written a moment ago may be missing, so callers still write with the conditional put."""
        found: set[str] = set()
        unique = list(dict.fromkeys(event_ids))
        for start in range(0, len(unique), 100):
            keys = [{schema.PARTITION_KEY: {"S": i}} for i in unique[start : start + 100]]
            for _ in range(5):  # unprocessed keys are asked again; any left are simply "not known"
                request: dict[str, Any] = {
                    "Keys": keys,
                    "ProjectionExpression": "#id",
                    "ExpressionAttributeNames": {"#id": schema.PARTITION_KEY},
                }
                try:
                    response = self.ddb.batch_get_item(RequestItems={self.table: request})
                except (ClientError, BotoCoreError) as error:
                    raise _unavailable(error) from None
                items = response.get("Responses", {}).get(self.table, [])
                self.meter.add("BatchGetItem", len(items))
                found.update(item[schema.PARTITION_KEY]["S"] for item in items)
                keys = (response.get("UnprocessedKeys") or {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
        return found

    def get_checkpoint(self, connection_id: str) -> str | None:
        """Where a connection's incremental sync stands: an ISO 8601 time, or None before the first."""
        try:
            response = self.ddb.get_item(
                TableName=self.table,
                Key={schema.PARTITION_KEY: {"S": f"{CHECKPOINT_KIND}#{connection_id}"}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from None
        item = response.get("Item") or {}
        if item.get(schema.KIND_ATTRIBUTE, {}).get("S") != CHECKPOINT_KIND:
            return None
        return item["position"]["S"]

    def advance_checkpoint(self, connection_id: str, position: str, *, run_id: str, updated_at: str) -> bool:
        """Move the checkpoint forward to ``position`` (same fixed-width ISO 8601 form, so strings
        compare as times). The write is conditional on the stored position being earlier: two runs
        can never move it backwards. False when it already stands at or past ``position``."""
        return self._put_if(
            {
                schema.PARTITION_KEY: {"S": f"{CHECKPOINT_KIND}#{connection_id}"},
                schema.KIND_ATTRIBUTE: {"S": CHECKPOINT_KIND},
                "position": {"S": position},
                "runId": {"S": run_id},
                "updatedAt": {"S": updated_at},
            },
            "attribute_not_exists(#id) OR #position < :position",
            {"#id": schema.PARTITION_KEY, "#position": "position"},
            {":position": {"S": position}},
        )

    def acquire_lease(self, name: str, owner: str, *, seconds: float, now: float) -> bool:
        """Take the lease ``name`` for ``seconds`` if nobody holds an unexpired one (conditional put)."""
        until = int(now + seconds) + 1
        return self._put_if(
            {
                schema.PARTITION_KEY: {"S": f"{LOCK_KIND}#{name}"},
                schema.KIND_ATTRIBUTE: {"S": LOCK_KIND},
                "owner": {"S": owner},
                "leaseUntil": {"N": str(until)},
                schema.TTL_ATTRIBUTE: {"N": str(until + 86_400)},
            },
            "attribute_not_exists(#id) OR #until < :now",
            {"#id": schema.PARTITION_KEY, "#until": "leaseUntil"},
            {":now": {"N": str(int(now))}},
        )

    def _put_if(
        self, item: dict[str, Any], condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        """A conditional put of a bookkeeping item: False when the condition does not hold."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None
        return True

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back if we still hold it (a lease that expired and was taken is left alone)."""
        try:
            self.ddb.delete_item(
                TableName=self.table,
                Key={schema.PARTITION_KEY: {"S": f"{LOCK_KIND}#{name}"}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None
