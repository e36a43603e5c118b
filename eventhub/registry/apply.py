"""Carry out a plan, one change at a time, and say what was done and what could not be.

Each change is one write (an item put or delete, a schedule call). A failure stops the run:
the report lists the changes made, the one that failed (with the error's code, never a value)
and those not attempted, so a second ``apply`` finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eventhub.registry.plan import Change, plan
from eventhub.registry.schedules import Schedules
from functions.adapters.registry.items import ConnectionRecord
from functions.adapters.registry.table import RegistryTable
from functions.models.config import HubConfig


@dataclass
class ApplyReport:
    done: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str = ""
    not_attempted: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None


def describe(error: Exception) -> str:
    code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
    return str(code or getattr(error, "message", None) or type(error).__name__)


def apply_plan(
    changes: Sequence[Change],
    registry: RegistryTable,
    schedules: Schedules | None,
    *,
    existing_schedules: Sequence[str] = (),
    progress: Callable[[Change], None] | None = None,
) -> ApplyReport:
    report = ApplyReport()
    present = set(existing_schedules)
    for index, change in enumerate(changes):
        try:
            _apply_one(change, registry, schedules, present)
        except Exception as error:  # stop at the first failure: report it and what is left
            report.failed, report.error = change, describe(error)
            report.not_attempted = list(changes[index + 1 :])
            return report
        report.done.append(change)
        if progress is not None:
            progress(change)
    return report


def _apply_one(
    change: Change, registry: RegistryTable, schedules: Schedules | None, present: set[str]
) -> None:
    match change.kind, change.verb:
        case "connection", "add" | "update":
            assert change.connection is not None
            registry.put_connection(ConnectionRecord(change.connection, enabled=True))
        case "connection", "remove":
            registry.delete_connection(change.name)
        case "key", "add" | "update":
            assert change.key is not None
            registry.put_key(change.key, only_new=False)
        case "key", "remove":
            assert change.key is not None
            registry.delete_key(change.key.key_hash)
        case "schedule", _ if schedules is None:
            return  # a registry without schedules (tests of the store alone)
        case "schedule", "add" | "update":
            assert change.connection is not None and schedules is not None
            schedules.put(change.connection, exists=change.name in present)
            present.add(change.name)
        case "schedule", "remove":
            assert schedules is not None
            schedules.delete(change.name)
            present.discard(change.name)


def apply_config(
    desired: HubConfig,
    registry: RegistryTable,
    schedules: Schedules | None,
    *,
    prune: bool = False,
    dry_run: bool = False,
    progress: Callable[[Change], None] | None = None,
) -> tuple[list[Change], ApplyReport]:
    """Plan ``desired`` against the registry (and the schedules) and, unless ``dry_run``, apply it."""
    current_schedules = schedules.current() if schedules is not None else {}
    changes = plan(
        desired,
        registry.connection_records(),
        registry.key_records(),
        current_schedules,
        prune=prune,
    )
    if dry_run:
        return changes, ApplyReport(not_attempted=list(changes))
    report = apply_plan(
        changes, registry, schedules, existing_schedules=list(current_schedules), progress=progress
    )
    return changes, report
