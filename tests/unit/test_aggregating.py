"""Counting logic without AWS: outcome words, bucket plans, counting each record once per counter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.errors import StoreUnavailable
from functions.logic.aggregating.combining import actor_stats_of, aggregate_of
from functions.logic.aggregating.counting import (
    Outcome,
    StreamEntry,
    count_events,
    count_stream_batch,
    counter_updates,
    outcome_of,
)
from functions.logic.aggregating.ranges import plan_over_days, plan_range
from functions.models.counting import (
    Contribution,
    Counted,
    CounterKey,
    Delta,
    Level,
    actor_bucket_of,
    dimension,
    parse_dimension,
    sequence_position,
)

BASE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("classify_run.processed", Outcome.SUCCESS),
        ("analysis.analysis_finished", Outcome.SUCCESS),
        ("monitor.run.completed", Outcome.SUCCESS),
        ("automation_run.succeeded", Outcome.SUCCESS),
        ("workflow_run.failed", Outcome.FAILURE),
        ("workflow_run.rejected", Outcome.FAILURE),
        ("connection.error", Outcome.FAILURE),
        ("webset.created", None),
        ("workflow_run.needs_review", None),
        ("schedule.fired", None),
        ("", None),
    ],
)
def test_outcome_is_the_last_word_of_the_event_type(event_type: str, expected: Outcome | None) -> None:
    # When an event type's outcome is read
    # Then its last word says success, failure, or neither
    assert outcome_of(event_type) is expected


def test_counter_attribute_names_survive_any_text() -> None:
    # Given a counter attribute name made of text with quotes, hashes, colons, commas and brackets
    name = dimension("an", 'we"ird#type', "actor:with,all]sorts")
    # When it is parsed back
    # Then its kind and its parts are the text it was made of
    assert parse_dimension(name) == ("an", ['we"ird#type', "actor:with,all]sorts"])


def _covered(plan_buckets: list, edges: list) -> list[tuple[datetime, datetime]]:
    spans = [(b.start, b.end) for b in plan_buckets] + list(edges)
    return sorted(spans)


moments = st.datetimes(
    min_value=datetime(2023, 12, 1), max_value=datetime(2024, 4, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(a=moments, b=moments)
def test_a_range_plan_covers_the_range_exactly_with_aligned_buckets(a: datetime, b: datetime) -> None:
    # Given any range of time over a few months
    start, end = min(a, b), max(a, b)
    # When it is planned
    plan = plan_range(start, end)
    # Then an empty range reads nothing
    spans = _covered(plan.buckets, plan.edges)
    if start == end:
        assert spans == []
        return
    # And otherwise the buckets and edges cover it exactly, end to end, without overlap
    assert spans[0][0] == start and spans[-1][1] == end
    for (_, first_end), (second_start, _) in zip(spans, spans[1:], strict=False):
        assert first_end == second_start  # contiguous, no overlap
    # And each bucket is named by its aligned start
    for bucket in plan.buckets:
        assert bucket.name == bucket.start.strftime(
            {"M": "%Y-%m", "d": "%Y-%m-%d", "h": "%Y-%m-%dT%H", "m": "%Y-%m-%dT%H:%M"}[bucket.level.value]
        )
    # And each edge is under a minute within one day
    for edge_start, edge_end in plan.edges:
        assert edge_end - edge_start < timedelta(minutes=1)
        assert edge_start.date() == (edge_end - timedelta(microseconds=1)).date()
    # And the buckets around the whole months stay few
    # log-like: at most 2*(59 + 23 + 30) buckets around the whole months in between
    months = sum(b.level is Level.MONTH for b in plan.buckets)
    assert len(plan.buckets) - months <= 2 * (59 + 23 + 30)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), datetime(1, 3, 2, 0, 0, 30, tzinfo=UTC)),
        (datetime(9999, 11, 30, 23, 0, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
        (datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_ranges_at_the_ends_of_time_are_planned_with_padded_names(start: datetime, end: datetime) -> None:
    # When a range at the start or the end of time is planned
    plan = plan_range(start, end)
    spans = _covered(plan.buckets, plan.edges)
    # Then it is covered exactly
    assert spans[0][0] == start and spans[-1][1] == end
    # And its buckets are named with four-digit years
    assert all(len(b.name.split("-")[0]) == 4 for b in plan.buckets)


def test_thirty_days_need_at_most_two_hundred_buckets() -> None:
    # Given a range of thirty days starting mid-minute
    start = datetime(2024, 3, 3, 7, 31, 12, 5, tzinfo=UTC)
    # When it is planned
    plan = plan_range(start, start + timedelta(days=30))
    # Then it needs at most two hundred buckets, and an edge at each end
    assert len(plan.buckets) <= 59 + 23 + 30 + 23 + 59
    assert len(plan.edges) == 2


def test_days_without_events_are_not_read() -> None:
    # Given ten days, only one of which has events
    start = datetime(2024, 3, 1, 0, 0, 30, tzinfo=UTC)
    # When the range is planned
    plan = plan_range(start, start + timedelta(days=10), days_with_events={"2024-03-05"})
    # Then only that day's buckets are read, and no edge
    assert {b.start.date().isoformat() for b in plan.buckets} == {"2024-03-05"}
    assert plan.edges == []


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(datetime(2023, 12, 1), datetime(2024, 4, 1), timezones=st.just(UTC)),
    span=st.timedeltas(timedelta(0), timedelta(days=90)),
    days=st.sets(st.dates(datetime(2023, 12, 1).date(), datetime(2024, 6, 30).date()), max_size=8),
)
def test_planning_over_the_months_with_events_reads_what_the_whole_range_plan_reads(
    start: datetime, span: timedelta, days: set
) -> None:
    # Given a range and the days that hold events
    names = {d.isoformat() for d in days}
    # When the range is planned month by month over the months with events only
    fast = plan_over_days(start, start + span, names)
    # Then it reads exactly the buckets and edges the whole-range plan reads
    whole = plan_range(start, start + span, names)
    assert sorted(fast.buckets, key=lambda b: b.start) == sorted(whole.buckets, key=lambda b: b.start)
    assert sorted(fast.edges) == sorted(whole.edges)


def test_a_range_from_year_1_to_9999_is_planned_over_its_two_months_with_events() -> None:
    # Given events in the first and the last month of time only
    days = {"0001-01-01", "9999-12-31"}
    # When the whole of time is planned
    plan = plan_over_days(datetime(1, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC), days)
    # Then only those two months are read: a month bucket, then the last day's hours and minutes
    assert {(b.start.year, b.start.month) for b in plan.buckets} == {(1, 1), (9999, 12)}
    assert len(plan.buckets) <= 1 + 23 + 59


def _event(n: int, **extra: str | None) -> Counted:
    fields = {
        "event_id": f"e{n}",
        "tenant_id": "t",
        "event_type": "classify_run.processed",
        "occurred_at": (BASE + timedelta(seconds=37 * n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_type": "user",
        "actor_id": f"u{n % 3}",
        "resource_type": "classify_run",
        "resource_id": f"r{n}",
        "correlation_id": f"c{n % 5}",
    }
    fields.update(extra)
    return Counted(**fields)  # type: ignore[arg-type]


def test_an_event_counts_in_every_bucket_and_its_correlation_and_resource() -> None:
    # When a failed event is turned into counter updates
    updates = counter_updates([_event(1, event_type="workflow_run.failed")])
    scopes = sorted(key.scope for key in updates)
    # Then it counts in the month, day, hour and minute buckets, in its actor's item of each of
    # them, and in its correlation and resource
    assert scopes == sorted(["M", "d", "h", "m", "aM", "ad", "ah", "am", "c", "r"])
    # And its actor's failures are counted, not its successes, in the actor's own item only
    minute_actor = next(d for k, d in updates.items() if k.scope == "am")
    assert minute_actor.counts == Counter({"n": 1, "f": 1})
    minute = next(d for k, d in updates.items() if k.scope == "m")
    assert not [name for name in minute.counts if name.startswith(("an:", "as:", "af:"))]


def test_missing_actor_type_counts_as_unknown_and_missing_fields_are_left_out() -> None:
    # When an event without actor type and resource type is counted
    counts = counter_updates([_event(1, actor_type=None, resource_type=None)])
    # Then its actor counts as of unknown type
    actor_keys = [actor_bucket_of(k) for k in counts if k.scope == "am"]
    assert [found.actor for found in actor_keys if found] == [("unknown", "u1")]
    minute = next(d for k, d in counts.items() if k.scope == "m").counts
    # And no counter for the missing fields is written
    assert not [name for name in minute if name.startswith(("at:", "rt:", "x:"))]
    # And the aggregate counts it in the total only, the actor stats as unknown
    summary = aggregate_of(minute)
    assert summary.total == 1 and summary.by_actor_type == [] and summary.by_resource_type == []
    actors = {found.actor: d.counts for k, d in counts.items() if (found := actor_bucket_of(k))}
    assert actor_stats_of(actors)[0].actor_type == "unknown"


class FakeCounters:
    """In-memory counters with a watermark per counter and shard, as ``CounterStore`` keeps them;
    can be told to fail the n-th counter write (the writes before it stay)."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.values: dict[CounterKey, Delta] = {}
        self.watermarks: dict[tuple[CounterKey, str], str] = {}
        self.writes = 0
        self.fail_on = fail_on or set()
        self.days: dict[str, set[str]] = {}
        self.rebuilt: set[str] = set()

    def counted_by_rebuild(self, event_ids: Sequence[str]) -> set[str]:
        return set(event_ids) & self.rebuilt

    def note_days(self, tenant_id: str, days: set[str]) -> None:
        self.days.setdefault(tenant_id, set()).update(days)

    def add_once(self, shard_id: str, contributions: Mapping[CounterKey, Sequence[Contribution]]) -> None:
        for key, parts in sorted(contributions.items()):
            done = self.watermarks.get((key, shard_id), "")
            rest = [part for part in parts if part.position > done]
            if not rest:
                continue
            self.writes += 1
            if self.writes in self.fail_on:
                raise StoreUnavailable("throttled")
            for part in rest:
                self.values.setdefault(key, Delta()).merge(part.delta)
            self.watermarks[(key, shard_id)] = max(part.position for part in rest)

    def total(self) -> int:
        return sum(d.counts.get("n", 0) for k, d in self.values.items() if k.scope == "M")


def _entries(events: Sequence[Counted], first: int = 1) -> list[StreamEntry]:
    return [StreamEntry(str(first + n), event) for n, event in enumerate(events)]


def test_a_batch_writes_each_counter_it_touches_once_whatever_its_number_of_events() -> None:
    # Given 100 events of one tenant in one minute, of one actor, without correlation or resource
    one = _event(0, correlation_id=None, resource_id=None)
    events = [replace(one, event_id=f"e{n}") for n in range(100)]
    counters = FakeCounters()
    # When their records are counted as one batch
    assert count_stream_batch(_entries(events), "shard-1", counters) is None
    # Then each of the 8 counters (4 time buckets, the actor in each) was written once
    assert counters.writes == 8
    assert counters.total() == 100


@pytest.mark.parametrize(
    "deliveries",
    [
        [(0, 120), (0, 120)],  # the same batch again
        [(0, 120), (0, 60), (60, 120)],  # again, bisected
        [(0, 60), (30, 120)],  # a retry from a record inside the first, running past its end
        [(0, 40), (0, 120), (100, 120), (50, 80)],  # overlaps of every kind
    ],
)
def test_records_delivered_again_whole_or_in_part_count_once(deliveries: list[tuple[int, int]]) -> None:
    # Given the records of 120 events of one shard
    entries = _entries([_event(n) for n in range(120)])
    counters = FakeCounters()
    # When the stream delivers them in these (overlapping) batches, in order of first delivery
    for start, end in deliveries:
        assert count_stream_batch(entries[start:end], "shard-1", counters) is None
    # Then every event counts once
    assert counters.total() == 120


def test_each_shard_is_counted_by_its_own_positions() -> None:
    # Given two shards whose records have the same sequence numbers (positions are per shard)
    left = _entries([_event(n) for n in range(10)])
    right = _entries([_event(n, tenant_id="acme") for n in range(10, 20)])
    counters = FakeCounters()
    # When both are counted, then delivered again
    for _ in range(2):
        count_stream_batch(left, "shard-a", counters)
        count_stream_batch(right, "shard-b", counters)
    # Then every event of both counts once
    assert counters.total() == 20


def test_a_failed_counter_write_reports_the_first_record_and_the_retry_completes_the_count() -> None:
    # Given a stream batch of 200 records (some not events), and counters whose 5th write fails
    entries = [StreamEntry(str(n + 1), _event(n) if n % 4 else None) for n in range(200)]
    counters = FakeCounters(fail_on={5})
    # When it is counted
    failed = count_stream_batch(entries, "shard-1", counters)
    # Then the batch's first record is reported, and only some counters were written
    assert failed == entries[0].sequence_number
    assert counters.writes == 5
    # When Lambda retries the batch, and bisects it once more for good measure
    assert count_stream_batch(entries, "shard-1", counters) is None
    assert count_stream_batch(entries[:100], "shard-1", counters) is None
    assert count_stream_batch(entries[100:], "shard-1", counters) is None
    # Then every event is counted exactly once, in every counter
    events = [e.event for e in entries if e.event is not None]
    expected: dict[CounterKey, Delta] = counter_updates(events)
    assert {k: d.counts for k, d in counters.values.items()} == {k: d.counts for k, d in expected.items()}


def test_events_a_rebuild_counted_are_left_out() -> None:
    # Given counters a rebuild wrote, with markers of two recent events
    counters = FakeCounters()
    counters.rebuilt = {"e1", "e3"}
    events = [_event(n) for n in range(5)]
    # When their records arrive
    assert count_events([(f"{n:040d}", e) for n, e in enumerate(events)], "shard-1", counters) == 3
    # Then only the three others are added
    assert counters.total() == 3


def test_sequence_positions_sort_as_the_numbers_do() -> None:
    # Given sequence numbers of different lengths, as DynamoDB gives them (21 to 40 digits)
    numbers = ["9" * 21, "1" + "0" * 21, "100000000000000000000000000000000000000", "12" * 20]
    # When they become positions
    positions = [sequence_position(n) for n in numbers]
    # Then the positions sort as the numbers do, and all have the same width
    assert sorted(positions) == [sequence_position(str(n)) for n in sorted(int(x) for x in numbers)]
    assert {len(p) for p in positions} == {40}
    # And anything else is refused
    for bad in ["", "12a", "1" * 41]:
        with pytest.raises(ValueError):
            sequence_position(bad)
