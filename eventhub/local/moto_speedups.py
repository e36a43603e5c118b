"""Two of moto's DynamoDB calls at the cost of their work, not of the table.

**Query.** moto 5 answers every Query by sorting the whole table by hash key, then keeping the
items of the queried partition (and sorting those again). A range read of a bucket's actors, or
of a day's shard, then costs O(n log n) in the table's size: with 60,000 items, most of a second
per Query. ``install()`` makes a Query walk the items unsorted; its own sort of the partition's
items (by the index's keys, then the table's) gives the same order as before.

**UpdateItem.** moto 5 validates an update expression by walking its syntax tree about ten times, deep-copying
it, and does it twice when the update creates the item: 10-30 ms per call, however small the
item. The aggregator writes one counter per key a batch touches (a few hundred for a batch of
100 events of distinct actors), so against moto a batch took seconds. ``install()`` also applies an
expression made only of ``SET #a = :v``, ``ADD #a :v`` and ``REMOVE #a`` actions (names and values
as placeholders or plain names, no paths, functions or arithmetic) directly, with moto's own
condition evaluation, ``ConditionalCheckFailed`` (and ``ALL_OLD`` on it), item size limit and
stream record (one, as DynamoDB writes, where moto writes two for an update that creates the
item); any other expression goes to moto unchanged. A test checks both give the same items and
answers.

Only the local runtime, the tests and the benchmarks install it; Lambda code never imports moto.
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

_lock = threading.RLock()
_installed = False
_querying = threading.local()  # set while this thread runs a Query: its walk needs no order
# Off: every update goes to moto's own code (the tests compare the two).
fast_updates = True

_CLAUSE = re.compile(r"\b(SET|ADD|REMOVE|DELETE)\b", re.IGNORECASE)
_NAME = r"(?:#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)"
_SET_ACTION = re.compile(rf"^\s*({_NAME})\s*=\s*(:[A-Za-z0-9_]+)\s*$")
_ADD_ACTION = re.compile(rf"^\s*({_NAME})\s+(:[A-Za-z0-9_]+)\s*$")
_REMOVE_ACTION = re.compile(rf"^\s*({_NAME})\s*$")


def simple_actions(expression: str) -> list[tuple[str, str, str | None]] | None:
    """``(action, name, value placeholder)`` of each action, or None when the expression uses
    anything beyond plain SET/ADD/REMOVE of top-level attributes (moto then handles it)."""
    parts = _CLAUSE.split(expression)
    if parts[0].strip():
        return None
    actions: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        keyword = keyword.upper()
        if keyword in seen or keyword == "DELETE":
            return None
        seen.add(keyword)
        pattern = {"SET": _SET_ACTION, "ADD": _ADD_ACTION, "REMOVE": _REMOVE_ACTION}[keyword]
        for action in body.split(","):
            found = pattern.match(action)
            if found is None:
                return None
            actions.append((keyword, found.group(1), found.group(2) if keyword != "REMOVE" else None))
    return actions or None


def _resolve(name: str, names: dict[str, str]) -> str | None:
    return names.get(name) if name.startswith("#") else name


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import moto.dynamodb.models as backend_module
        from moto.dynamodb.exceptions import (
            ConditionalCheckFailed,
            IncorrectDataType,
            ItemSizeTooLarge,
            ItemSizeToUpdateTooLarge,
        )
        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        original = backend_module.DynamoDBBackend.update_item
        create_condition_parser = backend_module.create_condition_expression_parser
        get_expected = backend_module.get_expected

        def update_item(
            self: Any,
            table_name: str,
            key: dict[str, dict[str, Any]],
            update_expression: str,
            expression_attribute_names: dict[str, Any],
            expression_attribute_values: dict[str, Any],
            attribute_updates: dict[str, Any] | None = None,
            expected: dict[str, Any] | None = None,
            condition_expression: str | None = None,
            return_values_on_condition_check_failure: str | None = None,
        ) -> Any:
            simple = update_expression and not attribute_updates
            actions = simple_actions(update_expression) if simple else None
            table = self.get_table(table_name)
            names = expression_attribute_names or {}
            values = expression_attribute_values or {}
            resolved = [(a, _resolve(n, names), v) for a, n, v in actions or []]
            keys = {table.hash_key_attr, table.range_key_attr}
            if (
                not fast_updates
                or actions is None
                or table.range_key_attr is not None
                or table.hash_key_attr not in key
                or any(name is None or name in keys for _, name, _ in resolved)
                or any(v is not None and v not in values for _, _, v in resolved)
                or len({name for _, name, _ in resolved}) != len(resolved)
            ):
                return original(
                    self, table_name, key, update_expression, expression_attribute_names,
                    expression_attribute_values, attribute_updates, expected, condition_expression,
                    return_values_on_condition_check_failure,
                )  # fmt: skip
            with _lock:
                hash_value = DynamoType(key[table.hash_key_attr])
                item = table.get_item(hash_value, None)
                if not get_expected(expected or {}).expr(item):
                    raise ConditionalCheckFailed
                condition = create_condition_parser(condition_expression, names, values).parse()
                if not condition.expr(item):
                    if return_values_on_condition_check_failure == "ALL_OLD" and item is not None:
                        raise ConditionalCheckFailed(item=item.to_json()["Attributes"])
                    raise ConditionalCheckFailed
                before = copy.deepcopy(item)
                updated = (
                    copy.deepcopy(item)
                    if item is not None
                    else Item(hash_value, None, {table.hash_key_attr: key[table.hash_key_attr]})
                )
                try:
                    for action, name, placeholder in resolved:
                        assert name is not None
                        if action == "REMOVE":
                            updated.attrs.pop(name, None)
                            continue
                        assert placeholder is not None
                        value = DynamoType(values[placeholder])
                        if action == "SET":
                            updated.attrs[name] = value
                        elif value.is_set():
                            current = updated.attrs.get(name)
                            if current is not None and current.type != value.type:
                                raise IncorrectDataType()
                            members = list(current.value) if current is not None else []
                            members += [m for m in value.value if m not in members]
                            updated.attrs[name] = DynamoType({value.type: members})
                        elif value.type == "N":
                            current = updated.attrs.get(name, DynamoType({"N": "0"}))
                            if current.type != "N":
                                raise IncorrectDataType()
                            updated.attrs[name] = current + value
                        else:
                            raise IncorrectDataType()
                except ItemSizeTooLarge:
                    raise ItemSizeToUpdateTooLarge() from None
                table.items[hash_value] = updated
                if table.stream_shard is not None:
                    table.stream_shard.add(before, updated)
                return updated

        backend_module.DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
        _unsorted_query_walks()
        _installed = True


def _unsorted_query_walks() -> None:
    from moto.dynamodb.models.table import Table

    sorted_walk = Table.all_items
    original_query = Table.query

    def all_items(self: Any) -> list[Any]:
        if not getattr(_querying, "active", False):
            return sorted_walk(self)  # Scan pages by this order: keep it
        if self.range_key_attr:
            return [item for partition in self.items.values() for item in partition.values()]
        return list(self.items.values())

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        _querying.active = True
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _querying.active = False

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
