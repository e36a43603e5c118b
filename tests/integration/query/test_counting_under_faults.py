"""Counting stays exact when DynamoDB throttles the aggregator's counter writes at random: a
throttled counter write tries again on its own, a batch that still fails is retried from the
record it reports, as the stream does, and every event counts once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eventhub.local.faults import StoreFaults
from eventhub.local.streams.delivery import deliver, window_fields
from eventhub.local.streams.subscriptions import local_subscriptions
from functions.handlers import aggregator
from functions.models.event import format_timestamp
from tests.integration.query.conftest import SHARD, Hub, at, make_event
from tests.integration.query.test_aggregates_reference import brute_force


def test_throttled_counter_writes_retried_by_the_stream_count_every_event_once(hub: Hub) -> None:
    # Given 400 events of 40 actors, 8 types, 20 correlations, in two hours
    events = [
        make_event(
            occurred_at=at(n * 0.3),
            actor_id=f"actor-{n % 40}",
            event_type=("classify_run.processed", "workflow_run.failed", "webset.created", "x.y")[n % 4]
            + ("" if n % 8 < 4 else ".again"),
            correlation_id=f"c{n % 20}",
        )
        for n in range(400)
    ]
    hub.put(*events)
    records = hub.tap.records()
    # And one in five of the aggregator's UpdateItems throttled (past botocore's own retries)
    subscription = next(s for s in local_subscriptions() if s.name == "aggregator")
    faults = StoreFaults(0.2, seed=7, operations=frozenset({"UpdateItem"}))
    faults.install(hub.store.ddb)
    given_up: list[Any] = []
    try:
        # When the stream delivers them in batches of 100, retrying each from its reported failure
        for start in range(0, len(records), 100):
            batch = records[start : start + 100]
            fields = window_fields(subscription, batch[0].get("eventSourceARN", "arn:stream"), SHARD)
            deliver(
                batch,
                subscription,
                lambda _handler, event: aggregator.handler(event, hub.context),
                lambda failed, _attempts: given_up.append(failed),
                fields,
            )
    finally:
        faults.uninstall(hub.store.ddb)
    # Then faults were met, nothing was given up, and the aggregates equal a brute-force count
    assert faults.injected_by_operation["UpdateItem"] > 50
    assert given_up == []
    start, end = at(0), at(400 * 0.3) + timedelta(minutes=1)
    params = {"from": format_timestamp(start), "to": format_timestamp(end)}
    expected_aggregate, expected_stats = brute_force(events, start, end)
    status, body = hub.get("/api/v1/events/aggregate", params)
    assert (status, body) == (200, expected_aggregate)
    status, body = hub.get("/api/v1/events/stats/by-actor", params)
    assert (status, body) == (200, expected_stats)
