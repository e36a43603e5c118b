"""An entry for the event bus, as the publisher builds it from a stream record."""

from __future__ import annotations

from dataclasses import dataclass

# EventBridge's limit for one PutEvents entry, and its billing unit (each 64 KB is one event).
MAX_ENTRY_BYTES = 256 * 1024
BILLING_CHUNK_BYTES = 64 * 1024
MAX_ENTRIES_PER_CALL = 10
ARTIFACT_SOURCE = "eventhub.artifact"


@dataclass(frozen=True)
class BusEntry:
    sequence: str  # the stream record it came from: what a batch item failure names
    source: str
    detail_type: str
    detail: str  # JSON text

    @property
    def size(self) -> int:
        """Its size as EventBridge counts it: Source, DetailType and Detail in UTF-8."""
        return len(self.source.encode()) + len(self.detail_type.encode()) + len(self.detail.encode())

    @property
    def billed_events(self) -> int:
        return max(1, -(-self.size // BILLING_CHUNK_BYTES))


@dataclass(frozen=True)
class PutFailure:
    index: int  # position in the call's entries
    code: str
