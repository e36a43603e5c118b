"""The counter store: the aggregator's transactions, counter reads, and rebuilds (item format:
``counter_items``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.counter_items import (
    COUNTED_ATTRIBUTES,
    COUNTER_KIND,
    MARKER_KIND,
    MARKER_TTL_SECONDS,
    counted_from_item,
    counter_id,
    delta_from_item,
    key_attributes,
    marker_id,
    text_of,
    update_request,
)
from functions.adapters.event_store import EventStore, ReadMeter
from functions.models.counting import Counted, CounterKey, Delta, days_key
from functions.models.items import EVENT_KIND

_ATTEMPTS = 5
WHAT = "counters"


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
        dynamodb.call(WHAT, self.ddb.update_item, **update_request(self.table, days_key(tenant_id), delta))

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
        items += [
            {"Update": update_request(self.table, key, delta)} for key, delta in sorted(updates.items())
        ]
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
                    yield counted, text_of(item, "receivedAt")

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
            item = key_attributes(key)
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
