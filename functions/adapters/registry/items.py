"""The registry's items: one per connection, one per API key, keyed so a function reads one.

connection#<id>      kind=connection, tenantId, provider, enabled, body (the connection's
                     JSON, secrets as Secrets Manager names or, locally, inline), updatedAt
apikey#<sha256 hex>  kind=apikey, tenantId, name, createdAt, last4 (never the key)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.models.config import Connection

CONNECTION_PREFIX = "connection#"
KEY_PREFIX = "apikey#"
CONNECTION_KIND = "connection"
KEY_KIND = "apikey"


@dataclass(frozen=True)
class ConnectionRecord:
    connection: Connection
    enabled: bool = True
    updated_at: str = ""


@dataclass(frozen=True)
class KeyRecord:
    key_hash: str
    tenant_id: str
    name: str = ""
    created_at: str = ""
    last4: str = ""  # the key's last four characters, "" for a key given only as its hash


def connection_key(connection_id: str) -> dict[str, Any]:
    return {"pk": {"S": CONNECTION_PREFIX + connection_id}}


def api_key_key(key_hash: str) -> dict[str, Any]:
    return {"pk": {"S": KEY_PREFIX + key_hash}}


def connection_body(connection: Connection) -> str:
    return connection.model_dump_json(by_alias=True, exclude_none=True)


def connection_item(record: ConnectionRecord, now: datetime) -> dict[str, Any]:
    connection = record.connection
    return {
        **connection_key(connection.id),
        "kind": {"S": CONNECTION_KIND},
        "tenantId": {"S": connection.tenant_id},
        "provider": {"S": connection.provider.value},
        "enabled": {"BOOL": record.enabled},
        "body": {"S": connection_body(connection)},
        "updatedAt": {"S": now.isoformat()},
    }


def record_of_connection(item: dict[str, Any]) -> ConnectionRecord:
    from functions.models.config import Connection  # here: a function reading keys only never builds it

    return ConnectionRecord(
        connection=Connection.model_validate_json(item["body"]["S"]),
        enabled=bool(item.get("enabled", {}).get("BOOL", True)),
        updated_at=item.get("updatedAt", {}).get("S", ""),
    )


def key_item(record: KeyRecord) -> dict[str, Any]:
    return {
        **api_key_key(record.key_hash),
        "kind": {"S": KEY_KIND},
        "tenantId": {"S": record.tenant_id},
        "name": {"S": record.name},
        "createdAt": {"S": record.created_at},
        "last4": {"S": record.last4},
    }


def record_of_key(item: dict[str, Any]) -> KeyRecord:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    return KeyRecord(
        key_hash=text("pk").removeprefix(KEY_PREFIX),
        tenant_id=text("tenantId"),
        name=text("name"),
        created_at=text("createdAt"),
        last4=text("last4"),
    )
