"""Events in the table: the conditional put that stores each event once, and reads by id."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import jsonutil
from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.event_store.table import WHAT, Table
from functions.errors import StoreUnavailable
from functions.models.blob_keys import payload_key
from functions.models.items import EVENT_KIND, from_item, is_event_item, to_item
from functions.models.store import PutOutcome, PutResult

if TYPE_CHECKING:
    from functions.models.event import CanonicalEvent, NewEvent


class EventItems(Table):
    # -- writes ----------------------------------------------------------------------------

    def put(self, new: NewEvent) -> PutResult:
        """Store an event once. New or duplicate; StoreUnavailable if it is not durable.

        The artifacts' credentialed URLs go into the same item (``artifactSources``, never served),
        so they are stored exactly when the event is: a duplicate changes nothing, and a write
        that fails or crashes leaves nothing behind. A payload too large for the item is written
        to the bucket first; a duplicate removes it again unless the stored item points at it.
        """
        event = new.event
        payload_text = jsonutil.dumps(event.payload)
        payload_ref = None
        try:
            if len(payload_text.encode()) > self.inline_limit:
                digest = hashlib.sha256(payload_text.encode()).hexdigest()
                payload_ref = payload_key(event.tenant_id, event.id, digest)
                self.blobs.put(payload_ref, payload_text.encode(), "application/json")
            item = to_item(
                event,
                payload_text=None if payload_ref else payload_text,
                payload_ref=payload_ref,
                expires_at=self._expires_at(),
                source_urls=new.artifact_urls,
            )
            self.ddb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": schema.PARTITION_KEY},
            )
        except ClientError as error:
            if dynamodb.is_condition_failure(error):
                self._forget_unreferenced(event.id, payload_ref)
                return PutResult(event.id, PutOutcome.DUPLICATE)
            self._forget_payload(payload_ref)
            raise dynamodb.unavailable(WHAT, error) from None
        except BotoCoreError as error:
            self._forget_payload(payload_ref)
            raise dynamodb.unavailable(WHAT, error) from None
        except StoreUnavailable:
            self._forget_payload(payload_ref)
            raise
        return PutResult(event.id, PutOutcome.NEW)

    def _expires_at(self) -> int | None:
        if self.retention_days <= 0:
            return None
        return int(time.time()) + self.retention_days * 86_400

    def _forget_payload(self, payload_ref: str | None) -> None:
        """After a failed write: its payload object goes (a retry writes the same key again)."""
        if payload_ref:
            self.blobs.delete(payload_ref)

    def _forget_unreferenced(self, event_id: str, payload_ref: str | None) -> None:
        """After a duplicate: remove the payload object this attempt wrote unless the stored item
        points at it (it may be this very attempt's, if a retried request found its own first write)."""
        if not payload_ref:
            return
        stored = self._get_item(event_id, ["payloadRef"], consistent=True) or {}
        if stored.get("payloadRef", {}).get("S") != payload_ref:
            self.blobs.delete(payload_ref)

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

    def get_without_payload(self, event_id: str) -> CanonicalEvent | None:
        """The event with ``payload`` left as None: no S3 read for a large payload."""
        item = self._get_item(event_id)
        if item is None or not is_event_item(item):
            return None
        return from_item(item, lambda _item: None)

    def event_of(self, item: dict[str, Any]) -> CanonicalEvent:
        """A stored event item (as read by any query) as the canonical event, payload loaded."""
        return from_item(item, self._load_payload)

    def _load_payload(self, item: dict[str, Any]) -> Any:
        if "payloadRef" in item:
            return jsonutil.loads(self.blobs.get(item["payloadRef"]["S"]))
        return jsonutil.loads(item.get("payload", {}).get("S", "{}"))

    def existing_ids(self, event_ids: list[str]) -> set[str]:
        """Which of these ids are stored (BatchGetItem, keys only). Eventually consistent: an id
        written a moment ago may be missing, so callers still write with the conditional put."""
        found: set[str] = set()
        unique = list(dict.fromkeys(event_ids))
        limit = dynamodb.BATCH_GET_LIMIT
        for start in range(0, len(unique), limit):
            request: dict[str, Any] = {
                "Keys": [{schema.PARTITION_KEY: {"S": i}} for i in unique[start : start + limit]],
                "ProjectionExpression": "#id",
                "ExpressionAttributeNames": {"#id": schema.PARTITION_KEY},
            }
            pages = dynamodb.batch_get(self.ddb, self.table, request, WHAT, dynamodb.Backoff(attempts=5))
            try:
                for items in pages:
                    self.meter.add("BatchGetItem", len(items))
                    found.update(item[schema.PARTITION_KEY]["S"] for item in items)
            except dynamodb.Unprocessed:
                pass  # keys left unprocessed are simply "not known": the conditional put still decides
        return found

    def tenant_ids(self) -> list[str]:
        """Every tenant with a stored event (a Scan of the whole table: offline commands only)."""
        params: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": "#tenant",
            "FilterExpression": "#kind = :event",
            "ExpressionAttributeNames": {"#tenant": "tenantId", "#kind": schema.KIND_ATTRIBUTE},
            "ExpressionAttributeValues": {":event": {"S": EVENT_KIND}},
        }
        tenants: set[str] = set()
        for page in self.ddb.get_paginator("scan").paginate(**params):
            tenants.update(item["tenantId"]["S"] for item in page.get("Items", []) if "tenantId" in item)
        return sorted(tenants)
