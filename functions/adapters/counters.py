"""The counter store: the aggregator's exactly-once counter writes, counter reads, and rebuilds
(item format and watermarks: ``counter_items``)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.counter_items import (
    COUNTED_ATTRIBUTES,
    COUNTER_KIND,
    MARKER_KIND,
    MARKER_TTL_SECONDS,
    REBUILD_WINDOW_ID,
    REBUILD_WINDOW_SECONDS,
    actor_bucket_value,
    actor_of_entry,
    add_once_request,
    counted_from_item,
    counter_id,
    delta_from_item,
    key_attributes,
    marker_id,
    prune_request,
    stale_watermarks,
    text_of,
    update_request,
    watermark_attribute,
    watermark_position,
)
from functions.adapters.event_store import EventStore, ReadMeter
from functions.errors import StoreUnavailable
from functions.models.counting import DAYS, Actor, Contribution, Counted, CounterKey, Delta, Level, days_key
from functions.models.items import EVENT_KIND

_ATTEMPTS = 5
_T = TypeVar("_T")
WHAT = "counters"
# Counter writes of one batch, or actor reads of one range, in flight at once (the functions take
# theirs from the settings: ``factory.counter_store``).
WORKERS = 8


def _merged(parts: Sequence[Contribution]) -> Delta:
    total = Delta()
    for part in parts:
        total.merge(part.delta)
    return total


class CounterStore:
    """Reads and writes counters through the event store's table, client and read meter."""

    def __init__(
        self,
        store: EventStore,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        workers: int = WORKERS,
    ) -> None:
        self.table = store.table
        self.ddb = store.ddb
        self.meter: ReadMeter = store.meter
        self.workers = workers
        self._sleep = sleep
        self._clock = clock

    # -- the aggregator ------------------------------------------------------------------------

    def counted_by_rebuild(self, event_ids: Sequence[str]) -> set[str]:
        window = self._read_item(REBUILD_WINDOW_ID)
        if not window or int(window.get("until", {}).get("N", "0")) <= self._clock():
            return set()
        ids = [marker_id(event_id) for event_id in dict.fromkeys(event_ids)]
        found: set[str] = set()
        for start in range(0, len(ids), dynamodb.BATCH_GET_LIMIT):
            chunk = ids[start : start + dynamodb.BATCH_GET_LIMIT]
            for item in self._batch_get(chunk, projection=True, consistent=True):
                found.add(item[schema.PARTITION_KEY]["S"].removeprefix("counted#"))
        return found

    def note_days(self, tenant_id: str, days: set[str]) -> None:
        # A read first (a fifth of a write's price): most batches add no new day.
        known = self._read_item(counter_id(days_key(tenant_id)), [DAYS], consistent=False) or {}
        new = set(days) - set(known.get(DAYS, {}).get("SS", []))
        if not new:
            return
        delta = Delta()
        delta.sets[DAYS] = new
        dynamodb.call(WHAT, self.ddb.update_item, **update_request(self.table, days_key(tenant_id), delta))

    def add_once(self, shard_id: str, contributions: Mapping[CounterKey, Sequence[Contribution]]) -> None:
        watermark = watermark_attribute(shard_id)
        # One write per counter, independent of each other: in parallel, as a batch of 100
        # events touches a few hundred counters.
        self._each(lambda item: self._add_once(item[0], item[1], watermark), sorted(contributions.items()))

    def _each(self, work: Callable[[Any], _T], items: Sequence[Any]) -> list[_T]:
        """``work`` of every item, up to ``workers`` at once; the results in the items' order, the
        first failure raised."""
        if len(items) <= 1 or self.workers <= 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(work, items))

    def _add_once(self, key: CounterKey, parts: Sequence[Contribution], watermark: str) -> None:
        def adding(some: Sequence[Contribution], **condition: str | None) -> dict[str, Any]:
            return add_once_request(
                self.table, key, _merged(some), watermark=watermark, last=some[-1].position,
                now=self._clock(), **condition,
            )  # fmt: skip

        ordered = sorted(parts, key=lambda part: part.position)
        # First path: nothing of this batch reached the counter yet (a record's first delivery).
        request = adding(ordered, first=ordered[0].position)
        failure: StoreUnavailable | None = None
        for _ in dynamodb.Backoff(attempts=_ATTEMPTS, base_seconds=0.05, sleep=self._sleep):
            try:
                answer = dynamodb.conditional(WHAT, self.ddb.update_item, **request)
            except StoreUnavailable as error:
                # Still throttled after botocore's own retries: this counter tries again before
                # the batch fails, since a failed batch is retried whole and every one of its
                # counters (hundreds) is written again, each one that throttles failing it anew.
                failure = error
                continue
            except dynamodb.ConditionFailed:
                # Some of these records were added before: read how far, add only what is above.
                item = self._read_item(counter_id(key))
                value = item.get(watermark, {}).get("S") if item else None
                done = watermark_position(value) if value else ""
                rest = [part for part in ordered if part.position > done]
                if not rest:
                    return
                request = adding(rest, seen=value)
                continue
            self._prune(answer.get("Attributes") or {})
            return
        raise failure or dynamodb.unavailable(WHAT, "the counter kept changing under its watermark")

    def _prune(self, item: Mapping[str, Any]) -> None:
        stale = stale_watermarks(item, self._clock())
        if not stale:
            return
        request = prune_request(self.table, item[schema.PARTITION_KEY]["S"], stale)
        # Best effort: a stale watermark left behind costs bytes, never a count.
        with contextlib.suppress(dynamodb.ConditionFailed, StoreUnavailable):
            dynamodb.conditional(WHAT, self.ddb.update_item, **request)

    def _read_item(
        self, item_id: str, attributes: Sequence[str] = (), *, consistent: bool = True
    ) -> dict[str, Any] | None:
        answer = dynamodb.call(
            WHAT,
            self.ddb.get_item,
            TableName=self.table,
            Key={schema.PARTITION_KEY: {"S": item_id}},
            ConsistentRead=consistent,
            **dynamodb.projection(attributes),
        )
        return answer.get("Item")

    # -- readers -------------------------------------------------------------------------------

    def read(self, keys: Sequence[CounterKey]) -> dict[CounterKey, Delta]:
        by_id = {counter_id(key): key for key in dict.fromkeys(keys)}
        found: dict[CounterKey, Delta] = {}
        ids = list(by_id)
        for start in range(0, len(ids), dynamodb.BATCH_GET_LIMIT):
            chunk = ids[start : start + dynamodb.BATCH_GET_LIMIT]
            self.meter.add("BatchGetItem:counters", len(chunk))
            for item in self._batch_get(chunk):
                found[by_id[item[schema.PARTITION_KEY]["S"]]] = delta_from_item(item)
        return found

    def actors(self, tenant_id: str, buckets: Sequence[tuple[Level, str]]) -> dict[Actor, Counter[str]]:
        # A Query per bucket (thirty days are ~100 buckets): in parallel, so a range costs a few
        # round trips rather than one per bucket.
        totals: dict[Actor, Counter[str]] = {}
        for found in self._each(lambda bucket: self._bucket_actors(tenant_id, *bucket), buckets):
            for actor, counts in found.items():
                totals.setdefault(actor, Counter()).update(counts)
        return totals

    def _bucket_actors(self, tenant_id: str, level: Level, bucket: str) -> dict[Actor, Counter[str]]:
        found: dict[Actor, Counter[str]] = {}
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": schema.ACTOR_INDEX.name,
            "KeyConditionExpression": "#bucket = :bucket",
            "ExpressionAttributeNames": {"#bucket": schema.ACTOR_INDEX.partition_key},
            "ExpressionAttributeValues": {":bucket": {"S": actor_bucket_value(tenant_id, level, bucket)}},
        }
        while True:
            page = dynamodb.call(WHAT, self.ddb.query, **params)
            self.meter.add("Query:actors", int(page.get("ScannedCount", len(page.get("Items", [])))))
            for item in page.get("Items", []):
                actor, counts = actor_of_entry(item)
                found.setdefault(actor, Counter()).update(counts)
            if "LastEvaluatedKey" not in page:
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(
        self, ids: list[str], *, projection: bool = False, consistent: bool = False
    ) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"Keys": [{schema.PARTITION_KEY: {"S": i}} for i in ids]}
        if projection:  # keys only
            request.update(ProjectionExpression="#id", ExpressionAttributeNames={"#id": schema.PARTITION_KEY})
        if consistent:
            request["ConsistentRead"] = True
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
        """The markers, after the window that makes the aggregator look for them (a record of a
        marked event may come up to 24 hours after its write; the window lasts two days)."""
        event_ids = list(dict.fromkeys(event_ids))  # once each
        if not event_ids:
            return
        now = int(self._clock())
        until = str(now + REBUILD_WINDOW_SECONDS)
        window = {
            schema.PARTITION_KEY: {"S": REBUILD_WINDOW_ID},
            schema.KIND_ATTRIBUTE: {"S": MARKER_KIND},
            "until": {"N": until},
            schema.TTL_ATTRIBUTE: {"N": until},
        }
        dynamodb.call(WHAT, self.ddb.put_item, TableName=self.table, Item=window)
        expires = str(now + MARKER_TTL_SECONDS)
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
            for event_id in event_ids
        )
