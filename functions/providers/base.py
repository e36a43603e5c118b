"""What every provider module shares: header access, HMAC helpers, the replay window."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.errors import MalformedPayload, SignatureError
from functions.models.event import format_timestamp, parse_timestamp

REPLAY_WINDOW_SECONDS = 300
MAX_SIGNATURE_HEADER = 8_192  # longer signature headers are refused before any work


@dataclass(frozen=True)
class Delivery:
    """A webhook as received: lower-cased headers, the raw body, our receive time."""

    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def header(self, *names: str) -> str | None:
        for name in names:
            value = self.headers.get(name)
            if value is not None:
                if len(value) > MAX_SIGNATURE_HEADER:
                    raise SignatureError(f"header {name} is too long")
                return value.strip()
        return None

    def require(self, *names: str) -> str:
        value = self.header(*names)
        if not value:
            raise SignatureError(f"missing {names[0]} header")
        return value


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def matches(expected: bytes | str, candidate: str | bytes) -> bool:
    """Constant-time comparison of a computed signature with one presented to us."""
    left = expected.encode() if isinstance(expected, str) else expected
    right = candidate.encode("utf-8", "replace") if isinstance(candidate, str) else candidate
    return hmac.compare_digest(left, right)


def check_timestamp(
    value: str, now: datetime, *, max_age: int = REPLAY_WINDOW_SECONDS, max_future: int = REPLAY_WINDOW_SECONDS
) -> int:
    """Parse a unix-seconds header and enforce the replay window."""
    if not value.isdigit() or len(value) > 12:
        raise SignatureError("timestamp header is not unix seconds")
    stamp = int(value)
    skew = now.timestamp() - stamp
    if skew > max_age:
        raise SignatureError("timestamp is outside the replay window (too old)")
    if -skew > max_future:
        raise SignatureError("timestamp is outside the replay window (in the future)")
    return stamp


def require_object(envelope: Any, what: str) -> dict[str, Any]:
    if not isinstance(envelope, dict):
        raise MalformedPayload(f"{what} must be a JSON object")
    return envelope


def require_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{what} is missing the string field '{key}'")
    return value


def optional_str(data: Any, key: str) -> str | None:
    if not isinstance(data, Mapping):
        return None
    value = data.get(key)
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def timestamp_or(value: Any, fallback: datetime) -> str:
    """A provider time as our ISO 8601 form; our receive time if it is absent or unreadable."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return format_timestamp(parse_timestamp(value))
        except (ValueError, OverflowError, OSError):
            pass
    return format_timestamp(fallback)
