"""Counter items and ``counted`` markers as DynamoDB items, in the events table beside the events.

A counter item's id is ``counter:["<tenant>","<scope>","<name>"]`` (JSON, so no tenant or
correlation id can collide with another's). An actor's item in a time bucket also carries the
keys of the actor index (``actorBucket`` and the sort key, ``table_schema.ACTOR_INDEX``), the only
index it appears in; every other counter item has no index keys. Each count is a top-level
number attribute (``ADD`` on a missing nested map would fail); the tenant's ``days`` item holds
a string set of days. Counter items also keep their watermarks (below). A marker's id is
``counted#<eventId>``; only a rebuild writes markers, and they expire (TTL) a week after, long
after the 24 hours a stream record can be delivered.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from functions import table_schema as schema
from functions.models.counting import (
    ACTOR_COUNTS,
    Actor,
    Counted,
    CounterKey,
    Delta,
    Level,
    actor_bucket_of,
)
from functions.models.items import EVENT_KIND

COUNTER_KIND = "counter"
MARKER_KIND = "counted"
MARKER_TTL_SECONDS = 7 * 86_400
# Written by a rebuild beside its markers: until ``until`` (unix seconds), the aggregator looks for
# markers; the rest of the time it reads this one item per batch and nothing more.
REBUILD_WINDOW_ID = "counted#rebuild-window"
REBUILD_WINDOW_SECONDS = 2 * 86_400
# Attributes of a counter item that are not counts.
_RESERVED = frozenset(
    {
        schema.PARTITION_KEY,
        schema.KIND_ATTRIBUTE,
        "tenantId",
        "scope",
        "name",
        "days",
        schema.ACTOR_INDEX.partition_key,
        schema.SORT_ATTRIBUTE,
    }
)
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


def _json(parts: list[str]) -> str:
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def actor_bucket_value(tenant_id: str, level: Level, bucket: str) -> str:
    """The actor index's partition of one tenant's time bucket."""
    return _json([tenant_id, level.value, bucket])


def _index_attributes(key: CounterKey) -> dict[str, str]:
    found = actor_bucket_of(key)
    if found is None:
        return {}
    return {
        schema.ACTOR_INDEX.partition_key: actor_bucket_value(found.tenant_id, found.level, found.bucket),
        schema.ACTOR_INDEX.sort_key: _json(list(found.actor)),
    }


def actor_of_entry(item: Mapping[str, Any]) -> tuple[Actor, Counter[str]]:
    """An actor index entry's actor and counts."""
    actor_type, actor_id = json.loads(item[schema.ACTOR_INDEX.sort_key]["S"])
    counts = Counter({name: int(item[name]["N"]) for name in ACTOR_COUNTS if name in item})
    return (actor_type, actor_id), counts


def key_attributes(key: CounterKey) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        schema.PARTITION_KEY: {"S": counter_id(key)},
        schema.KIND_ATTRIBUTE: {"S": COUNTER_KIND},
        "tenantId": {"S": key.tenant_id},
        "scope": {"S": key.scope},
        "name": {"S": key.name},
    }
    attributes.update({name: {"S": value} for name, value in _index_attributes(key).items()})
    return attributes


def update_request(
    table: str, key: CounterKey, delta: Delta, extra_sets: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """ADD the delta to the counter item (creating it with its key attributes); ``extra_sets``
    are string attributes SET beside (a watermark)."""
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
    sets = ["#kind = :kind", "#tenant = :tenant", "#scope = :scope", "#name = :name"]
    strings = {**_index_attributes(key), **(extra_sets or {})}
    for index, (name, value) in enumerate(strings.items()):
        names[f"#k{index}"] = name
        values[f":k{index}"] = {"S": value}
        sets.append(f"#k{index} = :k{index}")
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
    expression = "SET " + ", ".join(sets)
    if adds:
        expression += " ADD " + ", ".join(adds)
    return {
        "TableName": table,
        "Key": {schema.PARTITION_KEY: {"S": counter_id(key)}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


# -- watermarks: what a counter has added of each stream shard ------------------------------------
#
# A counter item keeps one string attribute per shard that wrote to it: ``w:<hash of the shard
# id>`` = ``<position of the last record added>|<unix seconds of that write>``. Positions are
# fixed-width (``models.counting.sequence_position``), so ``#w < :first`` compares them as numbers;
# a value with the same position is longer than the bare position, so it is not below it. A shard's
# records live 24 hours in the stream, so its watermark is dropped two days after its last write.

WATERMARK_PREFIX = "w:"
WATERMARK_KEEP_SECONDS = 2 * 86_400


def watermark_attribute(shard_id: str) -> str:
    return WATERMARK_PREFIX + hashlib.sha256(shard_id.encode()).hexdigest()[:12]


def watermark_value(position: str, now: float) -> str:
    return f"{position}|{int(now)}"


def watermark_position(value: str) -> str:
    return value.partition("|")[0]


def add_once_request(
    table: str,
    key: CounterKey,
    delta: Delta,
    *,
    watermark: str,
    last: str,
    now: float,
    first: str | None = None,
    seen: str | None = None,
) -> dict[str, Any]:
    """ADD the delta and move the shard's watermark to ``last``, only if the counter has added
    nothing at or past ``first`` (the first path), or its watermark is still ``seen`` (the value
    read on a retry, or None: no watermark of this shard yet)."""
    request = update_request(table, key, delta, {watermark: watermark_value(last, now)})
    position = next(n for n, name in request["ExpressionAttributeNames"].items() if name == watermark)
    if first is not None:
        request["ConditionExpression"] = f"attribute_not_exists({position}) OR {position} < :first"
        request["ExpressionAttributeValues"][":first"] = {"S": first}
    elif seen is None:
        request["ConditionExpression"] = f"attribute_not_exists({position})"
    else:
        request["ConditionExpression"] = f"{position} = :seen"
        request["ExpressionAttributeValues"][":seen"] = {"S": seen}
    request["ReturnValues"] = "ALL_NEW"
    return request


def stale_watermarks(item: Mapping[str, Any], now: float) -> dict[str, str]:
    """The watermarks of an item last written more than ``WATERMARK_KEEP_SECONDS`` ago."""
    stale: dict[str, str] = {}
    for name, value in item.items():
        if name.startswith(WATERMARK_PREFIX) and "S" in value:
            written = value["S"].partition("|")[2]
            if written.isdigit() and int(written) < now - WATERMARK_KEEP_SECONDS:
                stale[name] = value["S"]
    return stale


def prune_request(table: str, item_id: str, stale: Mapping[str, str]) -> dict[str, Any]:
    """REMOVE stale watermarks, each only if it still holds the value seen."""
    names = {f"#w{i}": name for i, name in enumerate(stale)}
    values = {f":w{i}": {"S": value} for i, value in enumerate(stale.values())}
    return {
        "TableName": table,
        "Key": {schema.PARTITION_KEY: {"S": item_id}},
        "UpdateExpression": "REMOVE " + ", ".join(names),
        "ConditionExpression": " AND ".join(f"#w{i} = :w{i}" for i in range(len(stale))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
