"""Artifacts of stored events: the copier's read (with the credentialed URLs still kept), and the
read-modify-write of one artifact under an optimistic lock."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import jsonutil
from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.event_store.table import WHAT, Table
from functions.models.blob_keys import payload_key
from functions.models.items import (
    ARTIFACT_SOURCES_ATTRIBUTE,
    ARTIFACTS_ATTRIBUTE,
    PENDING_ARTIFACTS_ATTRIBUTE,
    artifact_attributes,
    artifact_from_attr,
    from_item,
    is_event_item,
    source_urls_attribute,
    source_urls_of,
)
from functions.models.store import UNCHANGED, ToCopy

if TYPE_CHECKING:
    from functions.models.event import Artifact

# Artifact updates are optimistic: the artifacts list carries a version number.
ARTIFACTS_VERSION = "artifactsVersion"
ARTIFACT_UPDATE_ATTEMPTS = 8
# What an artifact update reads of the item before writing it.
UPDATE_READS = ("tenantId", ARTIFACTS_ATTRIBUTE, ARTIFACTS_VERSION, "payloadRef", ARTIFACT_SOURCES_ATTRIBUTE)


class ArtifactUpdates(Table):
    def get_for_copy(self, event_id: str) -> ToCopy | None:
        """The event without its payload, and the credentialed URLs its item still keeps."""
        item = self._get_item(event_id)
        if item is None or not is_event_item(item):
            return None
        return ToCopy(event=from_item(item, lambda _item: None), source_urls=source_urls_of(item))

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
        A new state that no longer needs its source URL (a final outcome) removes the URL from
        the item in the same write. With ``payload``, the event's payload is replaced in the
        same write (inline, or in S3 behind ``payloadRef`` if large). Returns the artifact as
        written.
        """
        for _ in range(ARTIFACT_UPDATE_ATTEMPTS):
            item = self._get_item(event_id, list(UPDATE_READS), consistent=True)
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
            sets, removes = ["#a = :a", "#p = :p", "#v = :next"], []
            if version:
                condition = "attribute_exists(#id) AND #v = :version"
                values[":version"] = {"N": str(version)}
            else:
                condition = "attribute_exists(#id) AND attribute_not_exists(#v)"
            kept = source_urls_of(item)
            if index in kept and not updated.keeps_source:
                del kept[index]  # a final outcome: the credentials go in the write that records it
                names["#src"] = ARTIFACT_SOURCES_ATTRIBUTE
                if kept:
                    sets.append("#src = :src")
                    values[":src"] = source_urls_attribute(kept)
                else:
                    removes.append("#src")
            new_ref = None
            if payload is not UNCHANGED:
                new_ref, text = self._payload_location(item["tenantId"]["S"], event_id, payload)
                names.update({"#payload": "payload", "#ref": "payloadRef"})
                if new_ref is None:
                    sets.append("#payload = :payload")
                    removes.append("#ref")
                    values[":payload"] = {"S": text}
                else:
                    sets.append("#ref = :ref")
                    removes.append("#payload")
                    values[":ref"] = {"S": new_ref}
            expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
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
                if dynamodb.is_condition_failure(error):
                    continue  # another writer got there first: read again
                raise dynamodb.unavailable(WHAT, error) from None
            except BotoCoreError as error:
                raise dynamodb.unavailable(WHAT, error) from None
            if payload is not UNCHANGED and old_ref and old_ref != new_ref:
                self.blobs.delete(old_ref)
            return updated
        raise dynamodb.unavailable(WHAT, "artifact update kept conflicting")

    def _payload_location(self, tenant_id: str, event_id: str, payload: Any) -> tuple[str | None, str]:
        """Where a replacement payload goes: (None, text) inline, or (S3 key, text) once written."""
        text = jsonutil.dumps(payload)
        data = text.encode()
        if len(data) <= self.inline_limit:
            return None, text
        key = payload_key(tenant_id, event_id, hashlib.sha256(data).hexdigest())
        self.blobs.put(key, data, "application/json")
        return key, text
