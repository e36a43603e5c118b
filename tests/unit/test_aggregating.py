"""Counting logic without AWS: outcome words, bucket plans, transaction groups, batch failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.errors import StoreUnavailable
from functions.logic.aggregating.combining import actor_stats_of, aggregate_of
from functions.logic.aggregating.counting import (
    MAX_TRANSACTION_ITEMS,
    Outcome,
    StreamEntry,
    count_events,
    count_stream_batch,
    counter_updates,
    outcome_of,
    transaction_groups,
)
from functions.logic.aggregating.ranges import plan_over_days, plan_range
from functions.models.counting import Counted, CounterKey, Delta, Level, dimension, parse_dimension

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
    # Then it counts in the month, day, hour and minute buckets and in its correlation and resource
    assert scopes == sorted(["M", "d", "h", "m", "c", "r"])
    # And its actor's failures are counted, not its successes
    minute = next(d for k, d in updates.items() if k.scope == "m")
    assert minute.counts[dimension("af", "user", "u1")] == 1
    assert dimension("as", "user", "u1") not in minute.counts


def test_missing_actor_type_counts_as_unknown_and_missing_fields_are_left_out() -> None:
    # When an event without actor type and resource type is counted
    counts = counter_updates([_event(1, actor_type=None, resource_type=None)])
    # Then its actor counts as of unknown type
    minute = next(d for k, d in counts.items() if k.scope == "m").counts
    assert minute[dimension("an", "unknown", "u1")] == 1
    # And no counter for the missing fields is written
    assert not [name for name in minute if name.startswith(("at:", "rt:", "x:"))]
    # And the aggregate counts it in the total only, the actor stats as unknown
    summary = aggregate_of(minute)
    assert summary.total == 1 and summary.by_actor_type == [] and summary.by_resource_type == []
    assert actor_stats_of(minute)[0].actor_type == "unknown"


def test_transaction_groups_never_exceed_the_item_limit() -> None:
    # Given four hundred events
    events = [_event(n) for n in range(400)]
    # When they are grouped into transactions
    groups = list(transaction_groups(events))
    # Then every event is in a group
    assert sum(len(g) for g in groups) == 400
    # And no group, with its counter updates, exceeds DynamoDB's transaction item limit
    for group in groups:
        assert len(group) + len(counter_updates(group)) <= MAX_TRANSACTION_ITEMS


class FakeCounters:
    """In-memory counters with markers; can be told to fail the n-th transaction."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.values: dict[CounterKey, Delta] = {}
        self.marked: set[str] = set()
        self.calls = 0
        self.fail_on = fail_on or set()
        self.days: dict[str, set[str]] = {}
        self.precheck = True

    def already_counted(self, event_ids: Sequence[str]) -> set[str]:
        return {event_id for event_id in event_ids if event_id in self.marked and self.precheck}

    def note_days(self, tenant_id: str, days: set[str]) -> None:
        self.days.setdefault(tenant_id, set()).update(days)

    def apply(self, events: Sequence[Counted], updates: Mapping[CounterKey, Delta]) -> set[str]:
        self.calls += 1
        if self.calls in self.fail_on:
            raise StoreUnavailable("throttled")
        already = {e.event_id for e in events if e.event_id in self.marked}
        if already:
            return already
        self.marked.update(e.event_id for e in events)
        for key, delta in updates.items():
            self.values.setdefault(key, Delta()).merge(delta)
        return set()

    def total(self) -> int:
        return sum(d.counts.get("n", 0) for k, d in self.values.items() if k.scope == "M")


def test_the_same_event_twice_in_a_batch_counts_once() -> None:
    # Given counters
    counters = FakeCounters()
    # When a batch holding the same event twice is counted
    # Then two events are counted
    assert count_events([_event(1), _event(1), _event(2)], counters) == 2
    # And the totals count two
    assert counters.total() == 2


@pytest.mark.parametrize("precheck", [True, False])
def test_a_batch_delivered_twice_counts_once(precheck: bool) -> None:
    # Given a batch counted once, and (without the pre-check) two racing deliveries
    counters = FakeCounters()
    counters.precheck = precheck
    events = [_event(n) for n in range(120)]
    count_events(events, counters)
    # When it is delivered again, whole and in part
    assert count_events(events, counters) == 0
    assert count_events(events[50:70] + [_event(500)], counters) == 1
    # Then every event counts once
    assert counters.total() == 121


def test_a_failed_transaction_reports_its_first_record_and_the_retry_completes_the_count() -> None:
    # Given a stream batch of 200 records (some not events), and counters whose second transaction fails
    entries = [StreamEntry(f"{n:05d}", _event(n) if n % 4 else None) for n in range(200)]
    counters = FakeCounters(fail_on={2})
    # When it is counted
    failed = count_stream_batch(entries, counters)
    # Then the first record of the failed transaction is reported
    assert failed is not None
    position = [e.sequence_number for e in entries].index(failed)
    # And only part of the batch is counted
    assert counters.total() < 150
    # When Lambda retries from the failed record onward (and the bisected half before it again)
    # Then nothing fails
    assert count_stream_batch(entries[position // 2 :], counters) is None
    assert count_stream_batch(entries, counters) is None
    # And every event is counted exactly once
    assert counters.total() == sum(1 for e in entries if e.event is not None)
