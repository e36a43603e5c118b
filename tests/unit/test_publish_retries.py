"""publish(): entries a PutEvents call did not take are retried, and none is lost."""

from __future__ import annotations

from collections.abc import Sequence

from functions.errors import BusUnavailable
from functions.logic.publishing.publish import PublishPolicy, publish
from functions.models.publishing import BusEntry, PutFailure

POLICY = PublishPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


class FlakyBus:
    """A fake bus: refuses chosen entries (by detail) a set number of times each, per entry, as
    PutEvents does (FailedEntryCount > 0, an ErrorCode on those entries); keeps what it took."""

    def __init__(self, refusals: dict[str, int], *, unavailable_calls: int = 0) -> None:
        self.refusals = dict(refusals)
        self.unavailable_calls = unavailable_calls
        self.taken: list[BusEntry] = []
        self.calls: list[int] = []

    def put(self, entries: Sequence[BusEntry]) -> list[PutFailure]:
        assert len(entries) <= 10
        self.calls.append(len(entries))
        if self.unavailable_calls:
            self.unavailable_calls -= 1
            raise BusUnavailable("event bus unavailable (ThrottlingException)")
        failures = []
        for index, entry in enumerate(entries):
            if self.refusals.get(entry.detail, 0) > 0:
                self.refusals[entry.detail] -= 1
                failures.append(PutFailure(index, "ThrottlingException"))
            else:
                self.taken.append(entry)
        return failures


def _entries(count: int, per_record: int = 1) -> list[BusEntry]:
    return [
        BusEntry(f"seq-{n // per_record:04d}", "eventhub.exa", "webset.created", f'{{"id":"e{n}"}}')
        for n in range(count)
    ]


def test_entries_refused_by_putevents_are_retried_and_none_is_lost() -> None:
    # Given 25 entries, of which the bus refuses five once and two twice (per-entry ErrorCode)
    entries = _entries(25)
    refusals = {entries[n].detail: 1 for n in (0, 3, 9, 12, 24)} | {entries[n].detail: 2 for n in (5, 17)}
    bus = FlakyBus(refusals)

    # When they are published
    report = publish(entries, bus, POLICY, sleep=lambda _s: None)

    # Then every entry is on the bus exactly once, and nothing is reported failed
    assert sorted(e.detail for e in bus.taken) == sorted(e.detail for e in entries)
    assert report.put == 25 and report.failed_sequence is None
    # And only the refused entries were sent again (3 batches, 7 + 2 retries)
    assert report.retried == 9
    assert sum(bus.calls) == 25 + 9


def test_a_call_that_fails_whole_is_retried_like_refused_entries() -> None:
    # Given a bus whose first call raises (the PutEvents call itself failed)
    entries = _entries(10)
    bus = FlakyBus({}, unavailable_calls=1)

    # When the entries are published
    report = publish(entries, bus, POLICY, sleep=lambda _s: None)

    # Then the second call puts all ten
    assert [e.detail for e in bus.taken] == [e.detail for e in entries]
    assert report.put == 10 and report.failed_sequence is None and report.retried == 10


def test_an_entry_failing_every_attempt_makes_its_record_the_batch_item_failure() -> None:
    # Given 40 entries of 20 records (two each), the 23rd refused on every attempt
    entries = _entries(40, per_record=2)
    poisoned = entries[22]
    bus = FlakyBus({poisoned.detail: POLICY.attempts})

    # When they are published
    report = publish(entries, bus, POLICY, sleep=lambda _s: None)

    # Then its record is the failed sequence
    assert report.failed_sequence == poisoned.sequence == "seq-0011"
    # And every entry of the records before it is on the bus, so those records are done
    earlier = {e.detail for e in entries if e.sequence < poisoned.sequence}
    assert earlier <= {e.detail for e in bus.taken}
    # And nothing of a later batch was put (Lambda retries from the failed record)
    taken = {t.detail for t in bus.taken}
    assert entries[30:] and all(e.detail not in taken for e in entries[30:])
    assert len(bus.calls) == 2 + POLICY.attempts
    assert poisoned not in bus.taken
    assert report.codes.count("ThrottlingException") == POLICY.attempts
