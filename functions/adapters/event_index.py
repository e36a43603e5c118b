"""Index reads of the events table: newest-first Queries on the GSIs, counts, BatchGetItem.

Every read here is a Query on index partitions (or a BatchGetItem by id); nothing scans. A
tenant's day of the time index is ``TIME_SHARDS`` partitions, read as one: their Queries merged
newest first (``shard_merge``), their counts summed. Each read records what DynamoDB read
(``ScannedCount``, or the keys requested) on the event store's meter. Times are half-open
``[start, end)``; a position is an index sort value (``{occurredAt}#{id}``) and reads continue
strictly below it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from functions import table_schema as schema
from functions.adapters import dynamodb, shard_merge
from functions.adapters.counter_items import COUNTED_ATTRIBUTES, counted_from_item
from functions.adapters.event_store import EventStore
from functions.models.counting import Counted
from functions.models.event import LATEST, CanonicalEvent, format_timestamp
from functions.models.items import day_of, day_partitions, is_event_item
from functions.models.listing import Entry, Source, SourceKind

_INDEX = {
    SourceKind.TIME: schema.TIME_INDEX,
    SourceKind.TYPE: schema.TYPE_INDEX,
    SourceKind.RESOURCE: schema.RESOURCE_INDEX,
    SourceKind.CORRELATION: schema.CORRELATION_INDEX,
}


def partition_of(source: Source) -> str:
    """The index partition key value: "{tenant}#{part}[#{part}]", as the stored item has it."""
    return "#".join((source.tenant_id, *source.parts))


def partitions_of(source: Source) -> list[str]:
    """The partition key values that hold the source: a day's every shard, or the one partition."""
    if source.kind is SourceKind.TIME:
        (day,) = source.parts
        return day_partitions(source.tenant_id, day)
    return [partition_of(source)]


def time_source(tenant_id: str, day: str) -> Source:
    return Source(SourceKind.TIME, tenant_id, (day,))


# Filters a list may need on top of its index partition: item attribute -> required value.
Filters = Mapping[str, str]

_ATTEMPTS = 6


def _below(position: str) -> str:
    """The greatest sort value below ``position`` that any real sort value can reach.

    Sort values use only characters below "~", so dropping the last character by one and
    appending "~" yields an inclusive upper bound for "strictly before ``position``"."""
    return position[:-1] + chr(ord(position[-1]) - 1) + "~"


def bounds(
    start: datetime | None, end: datetime | None, below: str | None = None
) -> tuple[str | None, str | None]:
    """Inclusive sort-value bounds of ``[start, end)`` and strictly below ``below``."""
    low = format_timestamp(start) if start is not None else None
    # The latest representable moment stands for "no end" (nothing is later).
    highs = [_below(format_timestamp(end))] if end is not None and end < LATEST else []
    if below is not None:
        highs.append(_below(below))
    return low, min(highs) if highs else None


class EventIndex:
    def __init__(self, store: EventStore, *, sleep: Any = time.sleep) -> None:
        self.store = store
        self.table = store.table
        self.ddb = store.ddb
        self.meter = store.meter
        self._sleep = sleep

    # -- queries -------------------------------------------------------------------------------

    def _query_params(
        self,
        source: Source,
        partition: str,
        start: datetime | None,
        end: datetime | None,
        below: str | None,
        filters: Filters,
    ) -> dict[str, Any] | None:
        index = _INDEX[source.kind]
        low, high = bounds(start, end, below)
        if low is not None and high is not None and low > high:
            return None
        names = {"#pk": index.partition_key}
        if low is not None or high is not None:
            names["#ts"] = index.sort_key
        values: dict[str, Any] = {":pk": {"S": partition}}
        condition = "#pk = :pk"
        if low is not None and high is not None:
            condition += " AND #ts BETWEEN :low AND :high"
            values.update({":low": {"S": low}, ":high": {"S": high}})
        elif low is not None:
            condition += " AND #ts >= :low"
            values[":low"] = {"S": low}
        elif high is not None:
            condition += " AND #ts <= :high"
            values[":high"] = {"S": high}
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index.name,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        clauses = []
        for number, (attribute, value) in enumerate(sorted(filters.items())):
            names[f"#f{number}"] = attribute
            values[f":f{number}"] = {"S": value}
            clauses.append(f"#f{number} = :f{number}")
        if clauses:
            params["FilterExpression"] = " AND ".join(clauses)
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = values
        return params

    def _query(self, params: dict[str, Any], label: str) -> dict[str, Any]:
        # Throttles, 5xx and dropped connections are retried by botocore (standard mode).
        response = dynamodb.call("event index", self.ddb.query, **params)
        self.meter.add(label, int(response.get("ScannedCount", response.get("Count", 0))))
        return response

    def newest_first(
        self,
        source: Source,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        below: str | None = None,
        filters: Filters | None = None,
        want: int | None,
    ) -> Iterator[Entry]:
        """Up to ``want`` entries of the source (None: all), newest first: its partitions'
        Queries merged (``shard_merge``, which says what that reads). On one partition each
        request asks for no more than are still wanted, so at most ``want`` matching items plus
        the filtered-out ones between them are read."""
        queries = [
            self._query_params(source, partition, start, end, below, filters or {})
            for partition in partitions_of(source)
        ]
        ready = [params for params in queries if params is not None]
        if len(ready) < len(queries):  # the range is empty (the same for every partition)
            return
        label = f"Query:{_INDEX[source.kind].name}"
        yield from shard_merge.newest_first(lambda params: self._query(params, label), ready, _entry, want)

    def count(
        self,
        source: Source,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        filters: Filters | None = None,
    ) -> int:
        label = f"Query:{_INDEX[source.kind].name}"
        total = 0
        for partition in partitions_of(source):
            params = self._query_params(source, partition, start, end, None, filters or {})
            if params is None:
                return 0
            params["Select"] = "COUNT"
            while True:
                response = self._query(params, label)
                total += int(response.get("Count", 0))
                last = response.get("LastEvaluatedKey")
                if not last:
                    break
                params["ExclusiveStartKey"] = last
        return total

    # -- items by id ---------------------------------------------------------------------------

    def _batch_get(self, ids: Sequence[str], label: str, attributes: Sequence[str] = ()) -> dict[str, dict]:
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 100):
            chunk = unique[start : start + 100]
            self.meter.add(label, len(chunk))
            request: dict[str, Any] = {"Keys": [{schema.PARTITION_KEY: {"S": i}} for i in chunk]}
            if attributes:
                names = {f"#a{n}": a for n, a in enumerate(attributes)}
                request["ProjectionExpression"] = ", ".join(names)
                request["ExpressionAttributeNames"] = names
            backoff = dynamodb.Backoff(attempts=_ATTEMPTS + 2, sleep=self._sleep)
            for items in dynamodb.batch_get(self.ddb, self.table, request, "event store", backoff):
                for item in items:
                    found[item[schema.PARTITION_KEY]["S"]] = item
        return found

    def fetch(self, ids: Sequence[str]) -> list[CanonicalEvent]:
        """The events with these ids, in the given order (ids no longer stored are skipped)."""
        items = self._batch_get(ids, "BatchGetItem:events")
        return [self.store.event_of(items[i]) for i in ids if i in items and is_event_item(items[i])]

    def edge_events(
        self, tenant_id: str, start: datetime, end: datetime, *, actors: bool = True
    ) -> list[Counted]:
        """The tenant's events with ``start <= occurredAt < end``, a range inside one day.

        Without ``actors`` only the index is read (it projects type, resource and source)."""
        entries = list(
            self.newest_first(
                time_source(tenant_id, day_of(format_timestamp(start))), start=start, end=end, want=None
            )
        )
        if not actors:
            return [
                Counted(
                    event_id=e.id,
                    tenant_id=tenant_id,
                    event_type=e.event_type or "",
                    occurred_at=e.position.partition("#")[0],
                    resource_type=e.resource_type,
                    resource_id=e.resource_id,
                    source=e.source,
                )
                for e in entries
            ]
        items = self._batch_get([e.id for e in entries], "BatchGetItem:edges", COUNTED_ATTRIBUTES)
        found = [counted_from_item(items[e.id]) for e in entries if e.id in items]
        return [c for c in found if c is not None and c.tenant_id == tenant_id]


def _entry(item: Mapping[str, Any]) -> Entry:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return value or None

    return Entry(
        id=item[schema.PARTITION_KEY]["S"],
        position=item[schema.SORT_ATTRIBUTE]["S"],
        event_type=text("eventType"),
        resource_type=text("resourceType"),
        resource_id=text("resourceId"),
        source=text("source"),
    )
