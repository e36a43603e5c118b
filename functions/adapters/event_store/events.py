"""Events in the table: the conditional put that stores each event once, and reads by id."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import jsonutil
from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.event_store.table import WHAT, Table
from functions.errors import StoreUnavailable
from functions.models.blob_keys import artifact_source_key, payload_key
from functions.models.items import (
    ARTIFACTS_ATTRIBUTE,
    EVENT_KIND,
    artifact_from_attr,
    from_item,
    is_event_item,
    to_item,
)
from functions.models.store import PutOutcome, PutResult

if TYPE_CHECKING:
    from functions.models.event import CanonicalEvent, NewEvent


class EventItems(Table):
    # -- writes ----------------------------------------------------------------------------

    def put(self, new: NewEvent) -> PutResult:
        """Store an event once. New or duplicate; StoreUnavailable if it is not durable.

        A duplicate changes nothing: what this attempt wrote to the bucket is removed again
        unless the stored item points at it. Credentialed URLs are kept under keys of this
        attempt alone (``artifact-sources/{id}/{attempt}/{n}``), written before the item that
        names them, so the item never points at a URL that is not kept, and no other attempt
        can replace it. One left by a crash, or by a write whose outcome is unknown, is
        referenced by nothing or by the item that stored it; the bucket's lifecycle rule
        expires it either way.
        """
        event = self._with_source_keys(new)
        payload_text = jsonutil.dumps(event.payload)
        written = [artifact.source_key for artifact in event.artifacts if artifact.source_key]
        payload_ref = None
        try:
            for artifact, url in zip(event.artifacts, new.artifact_urls, strict=False):
                if artifact.source_key:
                    self.blobs.put(artifact.source_key, url.encode(), "text/plain")
            if len(payload_text.encode()) > self.inline_limit:
                digest = hashlib.sha256(payload_text.encode()).hexdigest()
                payload_ref = payload_key(event.tenant_id, event.id, digest)
                self.blobs.put(payload_ref, payload_text.encode(), "application/json")
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
            if dynamodb.is_condition_failure(error):
                self._forget_unreferenced(event.id, [*written, *([payload_ref] if payload_ref else [])])
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

    @staticmethod
    def _with_source_keys(new: NewEvent) -> CanonicalEvent:
        """The event with each artifact naming the key its URL is kept under, by this attempt."""
        event = new.event
        if not new.artifact_urls:
            return event
        attempt = uuid.uuid4().hex
        artifacts = [
            artifact.model_copy(update={"source_key": artifact_source_key(event.id, index, attempt)})
            if index < len(new.artifact_urls)
            else artifact
            for index, artifact in enumerate(event.artifacts)
        ]
        return event.model_copy(update={"artifacts": artifacts})

    def _expires_at(self) -> int | None:
        if self.retention_days <= 0:
            return None
        return int(time.time()) + self.retention_days * 86_400

    def _forget_payload(self, payload_ref: str | None) -> None:
        """After a failed write: its payload object goes (a retry writes the same key again).
        The URLs stay: a write that failed on the way back may have stored an item naming them,
        and a retry keeps its own under new keys."""
        if payload_ref:
            self.blobs.delete(payload_ref)

    def _forget_unreferenced(self, event_id: str, keys: list[str]) -> None:
        """After a duplicate: remove what this attempt wrote unless the stored item points at
        it (it may be this very attempt's, if a retried request found its own first write)."""
        if not keys:
            return
        stored = self._get_item(event_id, ["payloadRef", ARTIFACTS_ATTRIBUTE], consistent=True) or {}
        kept = {stored.get("payloadRef", {}).get("S")}
        kept.update(
            artifact_from_attr(attr).source_key for attr in stored.get(ARTIFACTS_ATTRIBUTE, {}).get("L", [])
        )
        for key in keys:
            if key not in kept:
                self.blobs.delete(key)

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
