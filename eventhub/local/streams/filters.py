"""Lambda's filter rules for event source mappings (the subset they accept): which stream
records a subscription's patterns admit."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventhub.local.streams.subscriptions import Subscription


def _number(value: Any) -> Decimal | None:
    # Only JSON numbers compare numerically: DynamoDB's {"N": "1"} is a string and never matches.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


_COMPARE = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _rule_matches(rule: Any, value: Any) -> bool:
    """One entry of a pattern's list against one (present) scalar value."""
    if not isinstance(rule, dict):
        return rule == value and type(rule) is type(value)
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return bool(operand)
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(operand).lower()
    if operator == "anything-but":
        if isinstance(operand, dict):
            return not _rule_matches(operand, value)
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_rule_matches(item, value) for item in excluded)
    if operator == "numeric":
        number = _number(value)
        if number is None or len(operand) % 2:
            return False
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return all(_COMPARE[op](number, Decimal(str(bound))) for op, bound in pairs)
    raise ValueError(f"unsupported filter operator {operator!r}")


def _field_matches(rules: list[Any], present: bool, value: Any) -> bool:
    if not present:
        return any(isinstance(r, dict) and r.get("exists") is False for r in rules)
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"]:
                return True
            continue
        if any(_rule_matches(rule, v) for v in values):
            return True
    return False


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """True if the record matches the pattern: every key of the pattern must match."""
    for key, expected in pattern.items():
        present = isinstance(record, Mapping) and key in record
        value = record.get(key) if present else None
        if isinstance(expected, Mapping):
            if not present or not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif not _field_matches(list(expected), present, value):
            return False
    return True


def admitted(subscription: Subscription, record: Mapping[str, Any]) -> bool:
    return not subscription.filters or any(matches(p, record) for p in subscription.filters)
