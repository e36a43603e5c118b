"""What a poll run needs (adapters, a time budget) and what it reports (one summary)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from functions.ports.polling import HttpSource, PollStore, SecretReader, Spill

# A run stops starting new work when less than this is left of its time (the Lambda's).
SAFETY_MARGIN_SECONDS = 30
# A run's lease outlives its time budget by this much, so a killed run frees it soon after.
LEASE_GRACE_SECONDS = 10
# The first incremental sync of a connection without ``since`` starts this far back.
FIRST_SYNC_LOOKBACK = timedelta(hours=24)
# An incremental window is synced in chunks of at most this, oldest first, the checkpoint
# advancing after each: a long backlog makes progress even when one run cannot finish it.
CHUNK = timedelta(hours=1)
# Concurrent conditional puts per page (the boto3 client pool holds 10 connections).
STORE_WORKERS = 8


class RunOutcome(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"  # everything the provider had was read and stored
    PARTIAL = "partial"  # stopped for time; the next run continues from the checkpoint
    SKIPPED = "skipped"  # another run of the connection holds the lease
    AUTH_FAILED = "auth_failed"  # 401/403: nothing advanced
    FAILED = "failed"  # provider, page or store failure: nothing advanced past what is stored


class PollSummary(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    connection_id: str
    provider: str
    run_id: str
    outcome: RunOutcome = RunOutcome.RUNNING
    seen: int = 0
    new: int = 0
    duplicates: int = 0
    pages: int = 0
    spilled: int = 0
    elapsed_ms: int = 0
    window_from: str | None = None
    window_to: str | None = None
    checkpoint: str | None = None
    error: str | None = None

    def line(self) -> str:
        """The summary as one human-readable line (the CLI prints it)."""
        text = (
            f"{self.connection_id} ({self.provider}): {self.outcome} - seen {self.seen}, new {self.new}, "
            f"duplicates {self.duplicates}, pages {self.pages}, elapsed {self.elapsed_ms / 1000:.2f} s"
        )
        if self.spilled:
            text += f", spilled {self.spilled}"
        if self.checkpoint:
            text += f", checkpoint {self.checkpoint}"
        if self.error:
            text += f" | {self.error}"
        return text


@dataclass(frozen=True)
class RunBudget:
    """The time a run may use: the Lambda's remaining time less a safety margin."""

    remaining_ms: Callable[[], int]
    safety_margin_ms: int = SAFETY_MARGIN_SECONDS * 1000

    @classmethod
    def for_seconds(
        cls, seconds: float, *, safety_margin_ms: int = SAFETY_MARGIN_SECONDS * 1000
    ) -> RunBudget:
        deadline = time.monotonic() + seconds
        return cls(lambda: max(0, int((deadline - time.monotonic()) * 1000)), safety_margin_ms)

    def exhausted(self) -> bool:
        return self.remaining_ms() < self.safety_margin_ms

    def seconds_left(self) -> float:
        return max(0.0, (self.remaining_ms() - self.safety_margin_ms) / 1000)


@dataclass(frozen=True)
class PollServices:
    """The adapters a run works through; built once per container by the handler."""

    store: PollStore
    http: HttpSource
    secrets: SecretReader
    spill: Spill | None = None
    store_workers: int = STORE_WORKERS
    store_attempts: int = 3  # for a pulled (queue) event, before it is spilled
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time  # wall clock for leases
