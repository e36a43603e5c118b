"""What a store write answers: a new event or a duplicate of one already stored."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PutOutcome(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class PutResult:
    event_id: str
    outcome: PutOutcome

    @property
    def duplicate(self) -> bool:
        return self.outcome is PutOutcome.DUPLICATE


UNCHANGED: Any = object()  # "leave the payload as it is" in an artifact update
