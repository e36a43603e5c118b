"""DynamoDB transactions in moto at the cost of the items they name, not of the whole table.

moto 5's ``TransactWriteItems`` deep-copies every table a transaction touches, once per item of
the transaction, so that it can roll back; with the table's stream records included, one
transaction costs O(table size × items). The aggregator counts each batch of events in such
transactions, so against a table of tens of thousands of items a single batch would take
minutes. ``install()`` keeps moto's behaviour (all or nothing; cancellation reasons; stream
records only for transactions that commit) but snapshots just the items the transaction names
and restores them if it is cancelled.

Only the local runtime, the tests and the benchmarks install it; Lambda code never imports moto.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_lock = threading.RLock()
_installed = False


def _key_of(table: Any, operation: str, body: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    attrs = body["Item"] if operation == "Put" else body["Key"]
    hash_key = DynamoType(attrs[table.hash_key_attr])
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> tuple[list, dict]:
    items: list[tuple[Any, Any, Any, Any]] = []
    streams: dict[int, tuple[Any, int]] = {}
    for entry in transact_items:
        try:
            ((operation, body),) = entry.items()
            table = backend.tables[body["TableName"]]
            hash_key, range_key = _key_of(table, operation, body)
        except (KeyError, ValueError, TypeError):
            continue  # moto itself reports the malformed item
        current = table.get_item(hash_key, range_key)
        items.append((table, hash_key, range_key, copy.deepcopy(current)))
        if table.stream_shard is not None and id(table) not in streams:
            streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
    return items, streams


def _restore(items: list, streams: dict) -> None:
    for table, hash_key, range_key, before in reversed(items):
        if before is None:
            if range_key is not None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items.pop(hash_key, None)
        elif range_key is not None:
            table.items[hash_key][range_key] = before
        else:
            table.items[hash_key] = before
    for shard, length in streams.values():
        del shard.items[length:]


class _NoTableCopies:
    """``copy`` as moto's DynamoDB backend module sees it: a Table is never deep-copied."""

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_class):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import moto.dynamodb.models as backend_module
        from moto.dynamodb.models.table import Table

        original = backend_module.DynamoDBBackend.transact_write_items

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            with _lock:
                items, streams = _snapshot(self, transact_items)
                try:
                    return original(self, transact_items)
                except Exception:
                    _restore(items, streams)
                    raise

        backend_module.copy = _NoTableCopies(Table)  # type: ignore[assignment]
        backend_module.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _installed = True
