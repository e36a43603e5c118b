"""What every provider module shares: header access, HMAC helpers, the replay window."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.errors import MalformedPayload, SignatureError
from functions.models.event import format_timestamp, parse_timestamp

REPLAY_WINDOW_SECONDS = 300
MAX_SIGNATURE_HEADER = 8_192  # longer signature headers are refused before any work
# Identifiers that become index keys (eventType, resource and correlation ids) are bounded:
# DynamoDB refuses index key values over 2,048 bytes, and no provider id comes close.
MAX_ID_BYTES = 512


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
                if not _is_text(value):
                    raise SignatureError(f"header {name} is not valid text")
                return value.strip()
        return None

    def require(self, *names: str) -> str:
        value = self.header(*names)
        if not value:
            raise SignatureError(f"missing {names[0]} header")
        return value


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no HTTP header can carry it
        return False
    return True


def _fits_key(value: str) -> bool:
    return len(value.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def signing_keys(secrets: Sequence[str]) -> list[bytes]:
    """The secrets as HMAC keys. A blank secret is no key: an HMAC keyed with it is one anybody
    can compute, so it is left out and can never verify (intake also refuses it, with a metric)."""
    return [secret.encode() for secret in secrets if secret.strip()]


def matches(expected: bytes | str, candidate: str | bytes) -> bool:
    """Constant-time comparison of a computed signature with one presented to us."""
    left = expected.encode() if isinstance(expected, str) else expected
    right = candidate.encode("utf-8", "replace") if isinstance(candidate, str) else candidate
    return hmac.compare_digest(left, right)


def check_timestamp(
    value: str,
    now: datetime,
    *,
    max_age: int = REPLAY_WINDOW_SECONDS,
    max_future: int = REPLAY_WINDOW_SECONDS,
) -> int:
    """Parse a unix-seconds header and enforce the replay window."""
    # isascii: str.isdigit() also accepts digits int() cannot read, such as "²".
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
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


def _scalar_text(value: Any) -> Any:
    """Numbers as text (providers sometimes send numeric ids); anything else unchanged."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an integer beyond Python's digit limit for str()
            return None
    return value


def require_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = _scalar_text(data.get(key))
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{what} is missing the string field '{key}'")
    if not _fits_key(value):
        raise MalformedPayload(f"{what} field '{key}' is longer than {MAX_ID_BYTES} bytes")
    return value


def optional_str(data: Any, key: str) -> str | None:
    """A short identifier if present; None when absent, not a string or number, or too long."""
    if not isinstance(data, Mapping):
        return None
    value = data.get(key)
    if isinstance(value, float):  # ids are never fractional; 1.0 must not become an id
        return None
    value = _scalar_text(value)
    if isinstance(value, str) and value and _fits_key(value):
        return value
    return None


def timestamp_or(value: Any, fallback: datetime) -> str:
    """A provider time as our ISO 8601 form; our receive time if it is absent or unreadable."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return format_timestamp(parse_timestamp(value))
        except (ValueError, OverflowError, OSError):
            pass
    return format_timestamp(fallback)
