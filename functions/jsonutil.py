"""Strict JSON for untrusted bodies: clear messages, no NaN/Infinity, no escaping recursion.

What ``loads`` refuses, each with a message that says why (MalformedPayload, a 400):
bytes that are not UTF-8, empty bodies, syntax errors, ``NaN``/``Infinity`` literals, numbers
beyond the range of a double (``1e400``) or integers over Python's 4,300-digit limit, strings
holding an unpaired UTF-16 surrogate escape (``"\\ud800"``: such text cannot be stored as
UTF-8), and documents nested deeper than ``MAX_DEPTH`` containers. Duplicate object keys are
accepted and the last one wins, as in JavaScript and Python (and the providers' own SDKs).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from functions.errors import MalformedPayload

# Deeper documents are refused: real provider payloads nest a few dozen levels at most, and
# the canonical event is serialized recursively downstream (pydantic stops at 255 levels).
MAX_DEPTH = 128

# Only a \uD800-\uDFFF escape can put a surrogate into a parsed string (the UTF-8 decoder
# refuses encoded ones), so documents without one skip the encodability check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is beyond the range of a double")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels (iterative: no recursion to escape)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def loads(body: bytes | str) -> Any:
    """Parse a JSON document, raising MalformedPayload with a message that says what is wrong."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as error:
        raise MalformedPayload(f"body is not UTF-8 text (invalid byte at position {error.start})") from None
    if not text.strip():
        raise MalformedPayload("body is empty; expected a JSON object")
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise MalformedPayload(
            f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise MalformedPayload(
            f"body is not acceptable JSON: nested deeper than {MAX_DEPTH} levels"
        ) from None
    except ValueError as error:
        raise MalformedPayload(f"body is not acceptable JSON: {error}") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise MalformedPayload(f"body is not acceptable JSON: nested deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedPayload(
                "body is not acceptable JSON: a string holds an unpaired UTF-16 surrogate escape"
            ) from None
    return value


def dumps(value: Any) -> str:
    """Compact JSON text; MalformedPayload for values too deep to serialize, or NaN/Infinity."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise MalformedPayload("payload is nested too deeply") from None
    except ValueError as error:
        raise MalformedPayload(f"payload is not JSON: {error}") from None
