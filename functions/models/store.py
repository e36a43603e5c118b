"""What the store answers: a write's outcome (a new event or a duplicate of one already stored),
and an event as the copier reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.models.event import CanonicalEvent


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


@dataclass(frozen=True)
class ToCopy:
    """An event as the copier reads it: the event (payload left out), and the credentialed URLs
    its item still keeps, by artifact index. The URLs go to the copier's fetch and nowhere else."""

    event: CanonicalEvent
    source_urls: Mapping[int, str] = field(default_factory=dict, repr=False)


UNCHANGED: Any = object()  # "leave the payload as it is" in an artifact update
