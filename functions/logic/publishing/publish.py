"""Put entries on the bus in record order, 10 per call, each failed entry retried a few times.

At least once: an entry is put once per delivery of its record, and a record is delivered again
after a failure. The hub's ``id`` (in every entry's detail) is the consumers' dedup key. When an
entry still fails, the first such entry's record is returned: the handler reports it as the
batch item failure, so Lambda retries from it (and bisects, then hands the record to the
on-failure queue), while the records before it are done. Nothing later is put in that run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from functions.errors import BusUnavailable
from functions.models.publishing import MAX_ENTRIES_PER_CALL, BusEntry
from functions.observability import logger
from functions.ports.publishing import EventBus


@dataclass(frozen=True)
class PublishPolicy:
    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass
class PublishReport:
    put: int = 0
    billed_events: int = 0
    retried: int = 0
    failed_sequence: str | None = None
    codes: list[str] = field(default_factory=list)


def publish(
    entries: Sequence[BusEntry],
    bus: EventBus,
    policy: PublishPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishReport:
    rules = policy or PublishPolicy()
    report = PublishReport()
    for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
        left = list(entries[start : start + MAX_ENTRIES_PER_CALL])
        for attempt in range(1, rules.attempts + 1):
            try:
                failed = {f.index: f.code for f in bus.put(left)}
            except BusUnavailable as error:
                failed = dict.fromkeys(range(len(left)), error.message)
            done = [entry for index, entry in enumerate(left) if index not in failed]
            report.put += len(done)
            report.billed_events += sum(entry.billed_events for entry in done)
            report.codes += list(failed.values())
            left = [left[index] for index in sorted(failed)]
            if not left:
                break
            if attempt < rules.attempts:
                report.retried += len(left)
                sleep(rules.delay(attempt))
        if left:
            report.failed_sequence = left[0].sequence
            logger.warning(
                "publishing stopped; the batch is retried from a record",
                extra={"sequence": report.failed_sequence, "codes": sorted(set(report.codes))},
            )
            return report
    return report
