"""Strict JSON for untrusted bodies: clear messages, no NaN/Infinity, no escaping recursion."""

from __future__ import annotations

import json
import math
from typing import Any

from functions.errors import MalformedPayload


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is beyond the range of a double")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(body: bytes | str) -> Any:
    """Parse a JSON document, raising MalformedPayload with a message that says what is wrong."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as error:
        raise MalformedPayload(f"body is not UTF-8 text (invalid byte at position {error.start})") from None
    if not text.strip():
        raise MalformedPayload("body is empty; expected a JSON object")
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise MalformedPayload(
            f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise MalformedPayload("body is not acceptable JSON: nested too deeply") from None
    except ValueError as error:
        raise MalformedPayload(f"body is not acceptable JSON: {error}") from None


def dumps(value: Any) -> str:
    """Compact JSON text; raises MalformedPayload for values nested too deeply to serialize."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise MalformedPayload("payload is nested too deeply") from None
