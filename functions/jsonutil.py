"""Strict JSON for untrusted bodies: clear messages, no NaN/Infinity, no escaping recursion.

What ``loads`` refuses, each with a message that says why (MalformedPayload, a 400):
bytes that are not UTF-8, empty bodies, syntax errors, ``NaN``/``Infinity`` literals, numbers
beyond the range of a double (``1e400``) or integers over Python's 4,300-digit limit, strings
holding an unpaired UTF-16 surrogate escape (``"\\ud800"``: such text cannot be stored as
UTF-8), and documents nested deeper than ``MAX_DEPTH`` containers. Duplicate object keys are
accepted and the last one wins, as in JavaScript and Python (and the providers' own SDKs).

Messages are the hub's own: what Python's parser says about a refusal (such as its hint to
raise ``sys.set_int_max_str_digits()``) never reaches a response.
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
# Longer integers are refused (Python's own limit for reading digits, checked here first so
# that the refusal is said in our words).
MAX_INT_DIGITS = 4_300

# Only a \uD800-\uDFFF escape can put a surrogate into a parsed string (the UTF-8 decoder
# refuses encoded ones), so documents without one skip the encodability check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _Refusal(ValueError):
    """A refusal of ours, raised from the parser's hooks; its message is the answer."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refusal(f"number {text[:40]} is beyond the range of a double")
    return value


def _bounded_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise _Refusal(f"an integer has more than {MAX_INT_DIGITS:,} digits")
    return int(text)


def _no_constants(name: str) -> Any:
    raise _Refusal(f"{name} is not valid JSON")


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
        value = json.loads(
            text, parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_no_constants
        )
    except json.JSONDecodeError as error:
        raise MalformedPayload(
            f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise MalformedPayload(
            f"body is not acceptable JSON: nested deeper than {MAX_DEPTH} levels"
        ) from None
    except _Refusal as refusal:
        raise MalformedPayload(f"body is not acceptable JSON: {refusal}") from None
    except ValueError:  # anything else the parser refuses: said without its words
        raise MalformedPayload("body is not acceptable JSON: it holds a value that cannot be read") from None
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
    except ValueError:
        raise MalformedPayload("payload is not JSON: it holds NaN or Infinity") from None
