"""Counter items and ``counted`` markers as DynamoDB items, in the events table beside the events.

A counter item's id is ``counter:["<tenant>","<scope>","<name>"]`` (JSON, so no tenant or
correlation id can collide with another's); it has no index keys, so it never appears in an
index. Each count is a top-level number attribute (``ADD`` on a missing nested map would
fail); the tenant's ``days`` item holds a string set of days. A marker's id is
``counted#<eventId>``; it expires (TTL) a week after it is written, long after the 24 hours a
stream record can be delivered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from functions import table_schema as schema
from functions.models.counting import Counted, CounterKey, Delta
from functions.models.items import EVENT_KIND

COUNTER_KIND = "counter"
MARKER_KIND = "counted"
MARKER_TTL_SECONDS = 7 * 86_400
# Attributes of a counter item that are not counts.
_RESERVED = frozenset({schema.PARTITION_KEY, schema.KIND_ATTRIBUTE, "tenantId", "scope", "name", "days"})
# What the counters need of an event item.
COUNTED_ATTRIBUTES = (
    schema.PARTITION_KEY,
    schema.KIND_ATTRIBUTE,
    "tenantId",
    "eventType",
    "occurredAt",
    "receivedAt",
    "actorType",
    "actorId",
    "resourceType",
    "resourceId",
    "correlationId",
    "source",
)


def counter_id(key: CounterKey) -> str:
    return "counter:" + json.dumps([key.tenant_id, key.scope, key.name], separators=(",", ":"))


def marker_id(event_id: str) -> str:
    return f"counted#{event_id}"


def text_of(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return value if value else None


def counted_from_item(item: Mapping[str, Any]) -> Counted | None:
    """The counting facts of an event item (a stream image or a read item); None for others."""
    if text_of(item, schema.KIND_ATTRIBUTE) != EVENT_KIND:
        return None
    event_id, tenant = text_of(item, schema.PARTITION_KEY), text_of(item, "tenantId")
    event_type, occurred_at = text_of(item, "eventType"), text_of(item, "occurredAt")
    if not (event_id and tenant and event_type and occurred_at):
        return None
    return Counted(
        event_id=event_id,
        tenant_id=tenant,
        event_type=event_type,
        occurred_at=occurred_at,
        actor_type=text_of(item, "actorType"),
        actor_id=text_of(item, "actorId"),
        resource_type=text_of(item, "resourceType"),
        resource_id=text_of(item, "resourceId"),
        correlation_id=text_of(item, "correlationId"),
        source=text_of(item, "source"),
    )


def delta_from_item(item: Mapping[str, Any]) -> Delta:
    delta = Delta()
    for name, value in item.items():
        if name in _RESERVED or name == schema.TTL_ATTRIBUTE:
            continue
        if "N" in value:
            delta.counts[name] = int(value["N"])
    if "SS" in item.get("days", {}):
        delta.sets["days"] = set(item["days"]["SS"])
    return delta


def key_attributes(key: CounterKey) -> dict[str, Any]:
    return {
        schema.PARTITION_KEY: {"S": counter_id(key)},
        schema.KIND_ATTRIBUTE: {"S": COUNTER_KIND},
        "tenantId": {"S": key.tenant_id},
        "scope": {"S": key.scope},
        "name": {"S": key.name},
    }


def update_request(table: str, key: CounterKey, delta: Delta) -> dict[str, Any]:
    names: dict[str, str] = {
        "#kind": schema.KIND_ATTRIBUTE,
        "#tenant": "tenantId",
        "#scope": "scope",
        "#name": "name",
    }
    values: dict[str, Any] = {
        ":kind": {"S": COUNTER_KIND},
        ":tenant": {"S": key.tenant_id},
        ":scope": {"S": key.scope},
        ":name": {"S": key.name},
    }
    adds: list[str] = []
    for index, (name, amount) in enumerate(sorted(delta.counts.items())):
        names[f"#c{index}"] = name
        values[f":c{index}"] = {"N": str(amount)}
        adds.append(f"#c{index} :c{index}")
    for index, (name, members) in enumerate(sorted(delta.sets.items())):
        if members:
            names[f"#s{index}"] = name
            values[f":s{index}"] = {"SS": sorted(members)}
            adds.append(f"#s{index} :s{index}")
    expression = "SET #kind = :kind, #tenant = :tenant, #scope = :scope, #name = :name"
    if adds:
        expression += " ADD " + ", ".join(adds)
    return {
        "TableName": table,
        "Key": {schema.PARTITION_KEY: {"S": counter_id(key)}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
