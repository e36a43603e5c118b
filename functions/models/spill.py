"""One event in the spill queue, as read back for replay."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpilledEvent:
    """One spilled event as read back: which connection pulled it, when, and its raw body."""

    connection_id: str
    provider: str
    reason: str
    received_at: str
    body: bytes
    receipt: str = ""
    blob_key: str | None = None
