"""/aggregate and /stats/by-actor equal a brute-force count, for random events and ranges,
however the stream delivered them: duplicates, batches replayed, bisected and retried."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.logic.aggregating.counting import UNKNOWN_ACTOR_TYPE, Outcome, outcome_of
from functions.models.event import CanonicalEvent, format_timestamp, parse_timestamp
from tests.integration.query.conftest import Hub, make_event, tenant_key

START = datetime(2025, 1, 30, 23, 0, tzinfo=UTC)
SPAN_MINUTES = 3 * 24 * 60  # across a month's end

moments = st.builds(
    lambda minutes, micro: START + timedelta(minutes=minutes, microseconds=micro),
    st.integers(min_value=0, max_value=SPAN_MINUTES),
    st.sampled_from([0, 1, 250_000, 59_999_999]),
)
event_specs = st.fixed_dictionaries(
    {
        "occurred_at": moments,
        "event_type": st.sampled_from(
            ["classify_run.processed", "workflow_run.failed", "webset.created", "analysis.analysis_finished"]
        ),
        "resource_type": st.sampled_from(["classify_run", "webset", None]),
        "actor_type": st.sampled_from(["user", "system", None]),
        "actor_id": st.sampled_from(["u1", "u2", "conn-1", None]),
    }
)
bounds = st.one_of(st.none(), moments)


def ranked(counter: Counter[str]) -> list[dict[str, Any]]:
    return [{"count": n, "key": k} for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def brute_force(
    events: list[CanonicalEvent], start: datetime | None, end: datetime | None
) -> tuple[dict, dict]:
    chosen = [
        e
        for e in events
        if (start is None or parse_timestamp(e.occurred_at) >= start)
        and (end is None or parse_timestamp(e.occurred_at) <= end)
    ]
    aggregate = {
        "byActorType": ranked(Counter(e.actor_type for e in chosen if e.actor_type)),
        "byEventType": ranked(Counter(e.event_type for e in chosen)),
        "byResourceType": ranked(Counter(e.resource_type for e in chosen if e.resource_type)),
        "total": len(chosen),
    }
    actors: dict[tuple[str, str], Counter[str]] = {}
    for e in chosen:
        if e.actor_id:
            stats = actors.setdefault((e.actor_type or UNKNOWN_ACTOR_TYPE, e.actor_id), Counter())
            stats["total"] += 1
            outcome = outcome_of(e.event_type)
            stats["successes"] += outcome is Outcome.SUCCESS
            stats["failures"] += outcome is Outcome.FAILURE
    rows = [
        {
            "actorId": a,
            "actorType": t,
            "failures": s["failures"],
            "successes": s["successes"],
            "total": s["total"],
        }
        for (t, a), s in actors.items()
    ]
    rows.sort(key=lambda r: (-r["total"], r["actorType"], r["actorId"]))
    return aggregate, {"actors": rows}


def check(
    hub: Hub, key: str, events: list[CanonicalEvent], start: datetime | None, end: datetime | None
) -> None:
    params = {
        "from": format_timestamp(start) if start else None,
        "to": format_timestamp(end) if end else None,
    }
    expected_aggregate, expected_stats = brute_force(events, start, end)
    assert hub.get("/api/v1/events/aggregate", params, key=key) == (200, expected_aggregate), params
    assert hub.get("/api/v1/events/stats/by-actor", params, key=key) == (200, expected_stats), params


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(event_specs, max_size=30),
    ranges=st.lists(st.tuples(bounds, bounds), min_size=1, max_size=4),
    delivery=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    duplicates=st.integers(min_value=0, max_value=5),
    data=st.data(),
)
def test_aggregates_and_stats_equal_a_brute_force_count(
    hub: Hub,
    tenants: Iterator[str],
    specs: list[dict],
    ranges: list[tuple[datetime | None, datetime | None]],
    delivery: tuple[float, float],
    duplicates: int,
    data: st.DataObject,
) -> None:
    # Given a fresh tenant's random events, some delivered twice by their provider
    tenant = next(tenants)
    key = tenant_key(tenant)
    events = [make_event(tenant, correlation_id=None, **spec) for spec in specs]
    hub.put(*events)
    hub.put(*events[:duplicates])
    records = hub.tap.records()
    # When the stream delivers the records: a prefix, then a retry from an earlier point
    # (a replayed or bisected batch), then the whole batch once more
    cut = int(len(records) * delivery[0])
    again = int(cut * delivery[1])
    hub.deliver(records[:cut])
    hub.deliver(records[again:])
    hub.deliver(records)
    # Then every range's aggregate and stats equal the brute-force count
    for start, end in ranges:
        if start and end and start > end:
            start, end = end, start
        if events and data.draw(st.booleans()):  # edges exactly on an event
            start = parse_timestamp(data.draw(st.sampled_from(events)).occurred_at)
            end = None if end is None or end < start else end
        check(hub, key, events, start, end)


def test_a_thirty_day_aggregate_reads_a_bounded_number_of_items(hub: Hub) -> None:
    # Given events every 5 hours over 40 days, and a few close to the range's edges
    base = datetime(2025, 3, 1, tzinfo=UTC)
    start = base + timedelta(days=3, hours=5, minutes=17, seconds=41)
    end = start + timedelta(days=30)
    moments = [base + timedelta(hours=5 * n) for n in range(192)]
    moments += [edge + timedelta(seconds=s) for edge in (start, end) for s in (-30, -1, 0, 1, 59, 3600)]
    events = [make_event(occurred_at=moment, correlation_id=None) for moment in moments]
    hub.put(*events)
    hub.aggregate()
    # When 30 days with ragged edges are aggregated
    hub.store.meter.reset()
    status, body = hub.get(
        "/api/v1/events/aggregate", {"from": format_timestamp(start), "to": format_timestamp(end)}
    )
    # Then the answer is exact and the items read stay far below the events in range
    assert status == 200
    assert body == brute_force(events, start, end)[0]
    assert body["total"] > 100
    assert hub.store.meter.items <= 250
