"""Billable units as AWS counts them, metered call by call on the functions' own boto3 clients.

DynamoDB is billed from sizes, not calls: a write costs one WRU per started KB of the larger of
the item before and after it (a failed condition still costs it), plus one per started KB of
every index entry it puts or deletes (an entry is its keys, the table's keys and its projected
attributes, plus 100 bytes; an entry whose key moves is a delete and a put); a transaction
doubles the table writes. A read costs one RRU per started 4 KB of what it examines (a query's
page summed, then rounded; eventually consistent reads half). So the meter reads the item
before and after each write, and re-runs each query without its filter and projection, through
a client of its own that is not metered.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

INDEX_ENTRY_OVERHEAD = 100
KB = 1024


def value_size(value: Mapping[str, Any]) -> int:
    """The stored size of one attribute value in DynamoDB's typed form (``{"S": "x"}``)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        significant = "".join(map(str, Decimal(inner).as_tuple().digits)).strip("0") or "0"
        return (len(significant) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    def entry(self, item: Mapping[str, Any] | None, index: Index) -> dict[str, Any] | None:
        """The index entry ``item`` has in ``index`` (None: the item is not in that sparse index)."""
        if not item or any(key not in item for key in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        names = {*index.keys, *self.keys, *index.included}
        return {name: item[name] for name in names if name in item}


def write_units(
    table: Table, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[int, int]:
    """(table WRU, index WRU) of replacing ``before`` by ``after`` (None: absent)."""
    base = max(1, math.ceil(max(item_size(before), item_size(after)) / KB))
    indexed = 0
    for index in table.indexes:
        old, new = table.entry(before, index), table.entry(after, index)
        if old == new:
            continue
        if old is not None and new is not None and all(old[k] == new[k] for k in index.keys):
            indexed += math.ceil((item_size(new) + INDEX_ENTRY_OVERHEAD) / KB)
            continue
        for entry in (old, new):
            if entry is not None:
                indexed += math.ceil((item_size(entry) + INDEX_ENTRY_OVERHEAD) / KB)
    return base, indexed


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return float(units) if consistent else units / 2


def _describe(ddb: Any, name: str) -> Table:
    description = ddb.describe_table(TableName=name)["Table"]
    keys = tuple(k["AttributeName"] for k in description["KeySchema"])
    indexes = tuple(
        Index(
            gsi["IndexName"],
            tuple(k["AttributeName"] for k in gsi["KeySchema"]),
            gsi["Projection"]["ProjectionType"],
            tuple(gsi["Projection"].get("NonKeyAttributes", ())),
        )
        for gsi in description.get("GlobalSecondaryIndexes", [])
    )
    return Table(keys, indexes)


_TOKEN = re.compile(r"[#:][A-Za-z0-9_]+")


@dataclass
class Usage:
    """Every unit metered so far, by line."""

    wru: Counter = field(default_factory=Counter)  # by table:operation (and "index")
    rru: Counter = field(default_factory=Counter)
    s3: Counter = field(default_factory=Counter)  # "write" / "read"
    s3_operations: Counter = field(default_factory=Counter)
    eventbridge_entries: int = 0
    eventbridge_chunks: int = 0
    sqs_requests: int = 0
    secrets_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


S3_FREE = frozenset({"DeleteObject", "DeleteObjects", "AbortMultipartUpload"})  # DELETE is not billed
S3_WRITES = frozenset(
    {"PutObject", "CopyObject", "UploadPart", "UploadPartCopy", "CreateMultipartUpload",
     "CompleteMultipartUpload", "ListObjectsV2", "ListObjects", "ListParts", "ListMultipartUploads"}
)  # fmt: skip


class Meter:
    """Attach to clients as they are made; ``usage`` holds what they were billed."""

    def __init__(self, unmetered: Callable[[str], Any]) -> None:
        self.usage = Usage()
        self._unmetered = unmetered
        # Seconds each thread spent in the meter's own calls: not the function's duration.
        self._spent = threading.local()
        self._tables: dict[str, Table] = {}
        self._ddb: Any = None

    def attach(self, service: str, client: Any) -> Any:
        if service == "dynamodb":
            self._wrap_dynamodb(client)
        elif service == "s3":
            client.meta.events.register("before-call.s3", self._s3_call)
        elif service == "events":
            self._wrap(client, "put_events", self._put_events)
        elif service == "sqs":
            client.meta.events.register("before-call.sqs", self._sqs_call)
        elif service == "secretsmanager":
            client.meta.events.register("before-call.secretsmanager", self._secrets_call)
        return client

    # -- DynamoDB ----------------------------------------------------------------------------

    def _table(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = _describe(self._plain(), name)
        return self._tables[name]

    def _plain(self) -> Any:
        if self._ddb is None:
            self._ddb = self._unmetered("dynamodb")
        return _Timed(self._ddb, self._spent)

    def spent(self) -> float:
        """Seconds this thread has spent in the meter's own calls so far."""
        return float(getattr(self._spent, "seconds", 0.0))

    def cpu_spent(self) -> float:
        """CPU seconds this thread has spent in the meter's own calls so far."""
        return float(getattr(self._spent, "cpu", 0.0))

    def _current(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._plain().get_item(TableName=table, Key=dict(key), ConsistentRead=True).get("Item")

    def _key_of(self, table: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self._table(table).keys}

    def _bill_write(self, operation: str, table: str, before: Any, after: Any, factor: int = 1) -> None:
        base, indexed = write_units(self._table(table), before, after)
        counting = counting_item(before) or counting_item(after)
        with self.usage.lock:
            self.usage.wru[f"{table}:{'counters' if counting else operation}"] += base * factor
            self.usage.wru[f"{table}:{'counters index' if counting else 'index'}"] += indexed

    def _bill_read(self, operation: str, table: str, size: int, *, consistent: bool, factor: int = 1) -> None:
        with self.usage.lock:
            self.usage.rru[f"{table}:{operation}"] += read_units(size, consistent=consistent) * factor

    def _wrap(self, client: Any, method: str, wrapper: Callable[..., Any]) -> None:
        original = getattr(client, method)
        setattr(client, method, lambda **kwargs: wrapper(original, **kwargs))

    def _wrap_dynamodb(self, client: Any) -> None:
        for method in ("put_item", "update_item", "delete_item"):
            self._wrap(client, method, self._single_write(method))
        self._wrap(client, "transact_write_items", self._transact_write)
        self._wrap(client, "batch_write_item", self._batch_write)
        self._wrap(client, "get_item", self._get_item)
        self._wrap(client, "batch_get_item", self._batch_get)
        self._wrap(client, "transact_get_items", self._transact_get)
        self._wrap(client, "query", self._query)
        self._wrap(client, "scan", self._scan)

    def _single_write(self, method: str) -> Callable[..., Any]:
        def write(original: Callable[..., Any], **kwargs: Any) -> Any:
            table = kwargs["TableName"]
            key = kwargs.get("Key") or self._key_of(table, kwargs["Item"])
            before = self._current(table, key)
            try:
                return original(**kwargs)
            finally:
                self._bill_write(method, table, before, self._current(table, key) or kwargs.get("Item"))

        return write

    def _transact_write(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        targets = []
        for entry in kwargs["TransactItems"]:
            ((kind, action),) = entry.items()
            table = action["TableName"]
            key = action.get("Key") or self._key_of(table, action["Item"])
            targets.append((kind, table, key, action.get("Item")))
        befores = [self._current(table, key) for _, table, key, _ in targets]
        try:
            return original(**kwargs)
        finally:
            for (kind, table, key, item), before in zip(targets, befores, strict=True):
                after = before if kind == "ConditionCheck" else self._current(table, key) or item
                if kind == "ConditionCheck":  # a check reads and writes nothing: 2 WRU per KB read
                    base = max(1, math.ceil(item_size(before) / KB))
                    with self.usage.lock:
                        self.usage.wru[f"{table}:transact"] += 2 * base
                    continue
                self._bill_write("transact", table, before, after, factor=2)

    def _batch_write(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        plan = []
        for table, requests in kwargs["RequestItems"].items():
            for request in requests:
                item = (request.get("PutRequest") or {}).get("Item")
                key = (request.get("DeleteRequest") or {}).get("Key") or self._key_of(table, item)
                plan.append((table, key, item, self._current(table, key)))
        response = original(**kwargs)
        unprocessed = response.get("UnprocessedItems") or {}
        for table, key, item, before in plan:
            left = [
                (r.get("PutRequest") or {}).get("Item") or r["DeleteRequest"]["Key"]
                for r in unprocessed.get(table, [])
            ]
            if any(key == self._key_of(table, entry) for entry in left):
                continue
            self._bill_write("batch_write", table, before, item)
        return response

    def _get_item(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        response = original(**kwargs)
        found = self._current(kwargs["TableName"], kwargs["Key"]) if "Item" in response else None
        operation = "counters" if counting_item(kwargs["Key"]) else "get"
        self._bill_read(
            operation, kwargs["TableName"], item_size(found), consistent=bool(kwargs.get("ConsistentRead"))
        )
        return response

    def _batch_get(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        response = original(**kwargs)
        for table, request in kwargs["RequestItems"].items():
            consistent = bool(request.get("ConsistentRead"))
            for key in request["Keys"]:
                found = self._current(table, key)
                operation = "counters" if counting_item(key) else "batch_get"
                self._bill_read(operation, table, item_size(found), consistent=consistent)
        return response

    def _transact_get(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        response = original(**kwargs)
        for entry in kwargs["TransactItems"]:
            get = entry["Get"]
            found = self._current(get["TableName"], get["Key"])
            self._bill_read("transact_get", get["TableName"], item_size(found), consistent=True, factor=2)
        return response

    def _examined(self, operation: str, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        """What a query or scan page reads: the same page without its filter or projection."""
        dropped = ("FilterExpression", "ProjectionExpression", "Select", "ReturnConsumedCapacity")
        plain = {k: v for k, v in kwargs.items() if k not in dropped}
        used = set(_TOKEN.findall(str(plain.get("KeyConditionExpression", ""))))
        for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            if name in plain:
                kept = {k: v for k, v in plain[name].items() if k in used}
                if kept:
                    plain[name] = kept
                else:
                    plain.pop(name)
        return getattr(self._plain(), operation)(**plain).get("Items", [])

    def _query(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        response = original(**kwargs)
        size = sum(item_size(item) for item in self._examined("query", kwargs))
        where = kwargs["TableName"] + (f"/{kwargs['IndexName']}" if kwargs.get("IndexName") else "")
        self._bill_read("query", where, size, consistent=bool(kwargs.get("ConsistentRead")))
        return response

    def _scan(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        response = original(**kwargs)
        size = sum(item_size(item) for item in self._examined("scan", kwargs))
        self._bill_read("scan", kwargs["TableName"], size, consistent=bool(kwargs.get("ConsistentRead")))
        return response

    # -- the others ----------------------------------------------------------------------------

    def _s3_call(self, model: Any, **_: Any) -> None:
        with self.usage.lock:
            kind = "free" if model.name in S3_FREE else "write" if model.name in S3_WRITES else "read"
            self.usage.s3[kind] += 1
            self.usage.s3_operations[model.name] += 1

    def _put_events(self, original: Callable[..., Any], **kwargs: Any) -> Any:
        entries = kwargs.get("Entries", [])
        chunks = sum(max(1, math.ceil(entry_size(e) / (64 * KB))) for e in entries)
        response = original(**kwargs)
        with self.usage.lock:
            self.usage.eventbridge_entries += len(entries)
            self.usage.eventbridge_chunks += chunks
        return response

    def _sqs_call(self, **_: Any) -> None:
        with self.usage.lock:
            self.usage.sqs_requests += 1

    def _secrets_call(self, **_: Any) -> None:
        with self.usage.lock:
            self.usage.secrets_calls += 1


class _Timed:
    """A client whose calls add their wall time to the calling thread's ``seconds``, and their
    CPU time to its ``cpu``."""

    def __init__(self, client: Any, spent: threading.local) -> None:
        self._client = client
        self._spent = spent

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            began, cpu = time.perf_counter(), time.thread_time()
            try:
                return method(**kwargs)
            finally:
                self._spent.seconds = getattr(self._spent, "seconds", 0.0) + time.perf_counter() - began
                self._spent.cpu = getattr(self._spent, "cpu", 0.0) + time.thread_time() - cpu

        return call


def counting_item(item: Mapping[str, Any] | None) -> bool:
    """Whether an item (or key) is the aggregator's: a counter, or a rebuild's marker."""
    identifier = ((item or {}).get("id") or {}).get("S", "")
    return identifier.startswith(("counter:", "counted#"))


def entry_size(entry: Mapping[str, Any]) -> int:
    """An EventBridge entry's billed size: its Source, DetailType, Detail and Resources, and 14
    bytes for its Time when given."""
    size = sum(len(str(entry.get(name, "")).encode("utf-8")) for name in ("Source", "DetailType", "Detail"))
    size += sum(len(r.encode("utf-8")) for r in entry.get("Resources", []))
    return size + (14 if "Time" in entry else 0)
