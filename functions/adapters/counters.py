"""Counter items and ``counted`` markers, in the events table beside the events.

A counter item's id is ``counter:["<tenant>","<scope>","<name>"]`` (JSON, so no tenant or
correlation id can collide with another's); it has no index keys, so it never appears in an
index. Each count is a top-level number attribute (``ADD`` on a missing nested map would
fail); the tenant's ``days`` item holds a string set of days. A marker's id is
``counted#<eventId>``; it expires (TTL) a week after it is written, long after the 24 hours a
stream record can be delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.event_store import EventStore, ReadMeter
from functions.models.counting import Counted, CounterKey, Delta, days_key
from functions.models.items import EVENT_KIND

COUNTER_KIND = "counter"
MARKER_KIND = "counted"
MARKER_TTL_SECONDS = 7 * 86_400
_ATTEMPTS = 5
WHAT = "counters"
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
)


def counter_id(key: CounterKey) -> str:
    return "counter:" + json.dumps([key.tenant_id, key.scope, key.name], separators=(",", ":"))


def marker_id(event_id: str) -> str:
    return f"counted#{event_id}"


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return value if value else None


def counted_from_item(item: Mapping[str, Any]) -> Counted | None:
    """The counting facts of an event item (a stream image or a read item); None for others."""
    if _text(item, schema.KIND_ATTRIBUTE) != EVENT_KIND:
        return None
    event_id, tenant = _text(item, schema.PARTITION_KEY), _text(item, "tenantId")
    event_type, occurred_at = _text(item, "eventType"), _text(item, "occurredAt")
    if not (event_id and tenant and event_type and occurred_at):
        return None
    return Counted(
        event_id=event_id,
        tenant_id=tenant,
        event_type=event_type,
        occurred_at=occurred_at,
        actor_type=_text(item, "actorType"),
        actor_id=_text(item, "actorId"),
        resource_type=_text(item, "resourceType"),
        resource_id=_text(item, "resourceId"),
        correlation_id=_text(item, "correlationId"),
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


def _key_attributes(key: CounterKey) -> dict[str, Any]:
    return {
        schema.PARTITION_KEY: {"S": counter_id(key)},
        schema.KIND_ATTRIBUTE: {"S": COUNTER_KIND},
        "tenantId": {"S": key.tenant_id},
        "scope": {"S": key.scope},
        "name": {"S": key.name},
    }


def _update(table: str, key: CounterKey, delta: Delta) -> dict[str, Any]:
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


class CounterStore:
    """Reads and writes counters through the event store's table, client and read meter."""

    def __init__(self, store: EventStore, *, sleep: Any = time.sleep) -> None:
        self.table = store.table
        self.ddb = store.ddb
        self.meter: ReadMeter = store.meter
        self._sleep = sleep

    # -- the aggregator ------------------------------------------------------------------------

    def already_counted(self, event_ids: Sequence[str]) -> set[str]:
        ids = [marker_id(event_id) for event_id in dict.fromkeys(event_ids)]
        found: set[str] = set()
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            for item in self._batch_get(chunk, projection=True):
                found.add(item[schema.PARTITION_KEY]["S"].removeprefix("counted#"))
        return found

    def note_days(self, tenant_id: str, days: set[str]) -> None:
        delta = Delta()
        delta.sets["days"] = set(days)
        dynamodb.call(WHAT, self.ddb.update_item, **_update(self.table, days_key(tenant_id), delta))

    def apply(self, events: Sequence[Counted], updates: Mapping[CounterKey, Delta]) -> set[str]:
        expires = str(int(time.time()) + MARKER_TTL_SECONDS)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        schema.PARTITION_KEY: {"S": marker_id(event.event_id)},
                        schema.KIND_ATTRIBUTE: {"S": MARKER_KIND},
                        schema.TTL_ATTRIBUTE: {"N": expires},
                    },
                    "ConditionExpression": "attribute_not_exists(#id)",
                    "ExpressionAttributeNames": {"#id": schema.PARTITION_KEY},
                }
            }
            for event in events
        ]
        items += [{"Update": _update(self.table, key, delta)} for key, delta in sorted(updates.items())]
        failure: Exception | None = None
        # A transaction cancelled by a conflicting one (or failed by a fault botocore did not
        # retry) is tried again; one cancelled because a marker exists names those events.
        for _ in dynamodb.Backoff(attempts=_ATTEMPTS, base_seconds=0.05, sleep=self._sleep):
            try:
                self.ddb.transact_write_items(TransactItems=items)
                return set()
            except ClientError as error:
                if dynamodb.error_code(error) == "TransactionCanceledException":
                    reasons = error.response.get("CancellationReasons") or []
                    already = {
                        event.event_id
                        for event, reason in zip(events, reasons, strict=False)
                        if reason.get("Code") == "ConditionalCheckFailed"
                    }
                    if already:
                        return already
                failure = error
            except BotoCoreError as error:
                failure = error
        raise dynamodb.unavailable(WHAT, failure or "no attempt") from None

    # -- readers -------------------------------------------------------------------------------

    def read(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Delta]:
        by_id = {counter_id(key): key for key in dict.fromkeys(keys)}
        found: dict[CounterKey, Delta] = {}
        ids = list(by_id)
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            self.meter.add("BatchGetItem:counters", len(chunk))
            for item in self._batch_get(chunk):
                found[by_id[item[schema.PARTITION_KEY]["S"]]] = delta_from_item(item)
        return found

    def _batch_get(self, ids: list[str], *, projection: bool = False) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"Keys": [{schema.PARTITION_KEY: {"S": i}} for i in ids]}
        if projection:  # keys only
            request.update(ProjectionExpression="#id", ExpressionAttributeNames={"#id": schema.PARTITION_KEY})
        backoff = dynamodb.Backoff(attempts=_ATTEMPTS + 3, sleep=self._sleep)
        for items in dynamodb.batch_get(self.ddb, self.table, request, WHAT, backoff):
            yield from items

    # -- rebuilding ----------------------------------------------------------------------------

    def iter_counted_events(self, tenant_id: str | None = None) -> Iterator[tuple[Counted, str | None]]:
        """Every stored event's counting facts and receive time (a Scan: an offline command only)."""
        names = {f"#a{i}": name for i, name in enumerate(COUNTED_ATTRIBUTES)}
        params: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": ", ".join(names),
            "FilterExpression": "#kind = :event" + (" AND #tenant = :tenant" if tenant_id else ""),
            "ExpressionAttributeNames": {**names, "#kind": schema.KIND_ATTRIBUTE, "#tenant": "tenantId"},
            "ExpressionAttributeValues": {":event": {"S": EVENT_KIND}},
        }
        if tenant_id:
            params["ExpressionAttributeValues"][":tenant"] = {"S": tenant_id}
        else:
            del params["ExpressionAttributeNames"]["#tenant"]
        for page in self.ddb.get_paginator("scan").paginate(**params):
            for item in page.get("Items", []):
                counted = counted_from_item(item)
                if counted is not None:
                    yield counted, _text(item, "receivedAt")

    def _counter_ids(self, tenant_id: str | None) -> Iterator[str]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": "#id",
            "FilterExpression": "#kind = :counter" + (" AND #tenant = :tenant" if tenant_id else ""),
            "ExpressionAttributeNames": {"#id": schema.PARTITION_KEY, "#kind": schema.KIND_ATTRIBUTE},
            "ExpressionAttributeValues": {":counter": {"S": COUNTER_KIND}},
        }
        if tenant_id:
            params["ExpressionAttributeNames"]["#tenant"] = "tenantId"
            params["ExpressionAttributeValues"][":tenant"] = {"S": tenant_id}
        for page in self.ddb.get_paginator("scan").paginate(**params):
            for item in page.get("Items", []):
                yield item[schema.PARTITION_KEY]["S"]

    def _batch_write(self, requests: Iterable[dict[str, Any]]) -> None:
        backoff = dynamodb.Backoff(attempts=_ATTEMPTS + 3, sleep=self._sleep)
        dynamodb.batch_write(self.ddb, self.table, list(requests), WHAT, backoff)

    def replace_all(self, values: Mapping[CounterKey, Delta], tenant_id: str | None) -> int:
        wanted = {counter_id(key) for key in values}
        stale = [i for i in self._counter_ids(tenant_id) if i not in wanted]
        written = self.put_all(values)
        self._batch_write({"DeleteRequest": {"Key": {schema.PARTITION_KEY: {"S": i}}}} for i in stale)
        return written

    def put_all(self, values: Mapping[CounterKey, Delta]) -> int:
        """Write these counter items whole (overwriting); the number written."""
        puts = []
        for key, delta in values.items():
            item = _key_attributes(key)
            item.update({name: {"N": str(n)} for name, n in delta.counts.items() if n})
            item.update({name: {"SS": sorted(s)} for name, s in delta.sets.items() if s})
            puts.append({"PutRequest": {"Item": item}})
        self._batch_write(puts)
        return len(puts)

    def mark_counted(self, event_ids: Iterable[str]) -> None:
        expires = str(int(time.time()) + MARKER_TTL_SECONDS)
        self._batch_write(
            {
                "PutRequest": {
                    "Item": {
                        schema.PARTITION_KEY: {"S": marker_id(event_id)},
                        schema.KIND_ATTRIBUTE: {"S": MARKER_KIND},
                        schema.TTL_ATTRIBUTE: {"N": expires},
                    }
                }
            }
            for event_id in dict.fromkeys(event_ids)
        )
