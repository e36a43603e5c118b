"""The registry table: what the functions read by key, and what operators write and list.

The functions call only ``connection`` and ``tenant_for`` (one GetItem each, on a key their
role may read); the ``eventhub`` commands, with the operator's credentials, call the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from functions.adapters import dynamodb
from functions.adapters.event_store.table import ReadMeter
from functions.adapters.registry import items
from functions.adapters.registry.items import ConnectionRecord, KeyRecord
from functions.errors import StoreUnavailable
from functions.observability import logger

if TYPE_CHECKING:
    from functions.models.config import Connection

WHAT = "registry"


class RegistryTable:
    def __init__(self, table_name: str, dynamodb_client: Any) -> None:
        self.table = table_name
        self.ddb = dynamodb_client
        self.meter = ReadMeter()

    # -- what the functions read -----------------------------------------------------------------

    def connection(self, connection_id: str) -> Connection | None:
        record = self.connection_record(connection_id)
        return record.connection if record is not None and record.enabled else None

    def tenant_for(self, key_hash: str) -> str | None:
        item = self._get(items.api_key_key(key_hash), "tenantId")
        return None if item is None else str(item["tenantId"]["S"])

    def connection_record(self, connection_id: str) -> ConnectionRecord | None:
        item = self._get(items.connection_key(connection_id))
        if item is None:
            return None
        try:
            return items.record_of_connection(item)
        except (KeyError, ValidationError):
            logger.error("registry: unreadable connection item", extra={"connection": connection_id})
            return None

    def _get(self, key: dict[str, Any], *attributes: str) -> dict[str, Any] | None:
        params = {"TableName": self.table, "Key": key, **dynamodb.projection(attributes)}
        response = dynamodb.call(WHAT, self.ddb.get_item, **params)
        self.meter.add("GetItem", 1 if "Item" in response else 0)
        return response.get("Item")

    # -- what operators write and list -------------------------------------------------------------

    def put_connection(self, record: ConnectionRecord) -> None:
        item = items.connection_item(record, datetime.now(UTC))
        dynamodb.call(WHAT, self.ddb.put_item, TableName=self.table, Item=item)

    def delete_connection(self, connection_id: str) -> None:
        key = items.connection_key(connection_id)
        dynamodb.call(WHAT, self.ddb.delete_item, TableName=self.table, Key=key)

    def put_key(self, record: KeyRecord, *, only_new: bool = True) -> bool:
        """Store a key; False when ``only_new`` and a key of that hash exists already."""
        params: dict[str, Any] = {"TableName": self.table, "Item": items.key_item(record)}
        if only_new:
            params["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            self.ddb.put_item(**params)
        except ClientError as error:
            if dynamodb.is_condition_failure(error):
                return False
            raise dynamodb.unavailable(WHAT, error) from None
        return True

    def delete_key(self, key_hash: str) -> bool:
        """Remove a key; False when there was none of that hash."""
        response = dynamodb.call(
            WHAT,
            self.ddb.delete_item,
            TableName=self.table,
            Key=items.api_key_key(key_hash),
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in response

    def connection_records(self) -> list[ConnectionRecord]:
        found = []
        for item in self._scan(items.CONNECTION_KIND):
            try:
                found.append(items.record_of_connection(item))
            except (KeyError, ValidationError):
                logger.error("registry: unreadable connection item", extra={"pk": item["pk"]["S"]})
        return sorted(found, key=lambda r: r.connection.id)

    def key_records(self) -> list[KeyRecord]:
        found = [items.record_of_key(item) for item in self._scan(items.KEY_KIND)]
        return sorted(found, key=lambda r: (r.tenant_id, r.created_at, r.key_hash))

    def _scan(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every item of one kind (operators' listings; the functions never scan)."""
        params: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "#kind = :kind",
            "ExpressionAttributeNames": {"#kind": "kind"},
            "ExpressionAttributeValues": {":kind": {"S": kind}},
        }
        while True:
            response = dynamodb.call(WHAT, self.ddb.scan, **params)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


__all__ = ["RegistryTable", "StoreUnavailable"]
