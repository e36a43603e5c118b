"""Forwarding under store faults: a rule's SQS queue gets every stored event, and only those.

The local stack in this process (its stream dispatcher feeds the publisher) with 5% of store
writes failing as throttled; senders retry 5xx like providers do (``bench.bench_load``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.bench_load import Outcome, _secret, _send, plan
from tests.conftest import LOCAL_CONFIG
from tests.support.bus_queue import attach_queue, drain

WEBHOOKS = 500


def stored_ids(stack: Any) -> set[str]:
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=stack.resources["table"],
            ProjectionExpression="#id, #k",
            ExpressionAttributeNames={"#id": "id", "#k": "kind"},
        )
    )
    return {i["id"]["S"] for p in pages for i in p["Items"] if i.get("kind", {}).get("S") == "event"}


def test_every_stored_event_reaches_the_rules_queue_under_store_faults() -> None:
    # Given the local stack with 5% of store writes failing, and a queue behind a rule on its bus
    from eventhub.local.stack import LocalStack

    with LocalStack(LOCAL_CONFIG, store_fault_rate=0.05, fault_seed=23) as stack:
        url = attach_queue(stack, "forwarding-all")
        sends = plan(WEBHOOKS, datetime.now(UTC), seed=5)  # 10% are re-sends
        secrets = {d.connection: _secret(d.connection) for d in sends}
        outcome = Outcome()

        # When 500 signed webhooks are sent by retrying senders
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(_send, stack.url, d, secrets[d.connection], outcome) for d in sends]:
                future.result()
        stored = stored_ids(stack)
        received = drain(stack, url, waiting_for=stored, deadline_seconds=60.0)

        # Then every webhook was acknowledged, and some writes failed on the way
        assert not outcome.unacked and len(outcome.acked) == WEBHOOKS - WEBHOOKS // 10
        assert stack.faults is not None and stack.faults.injected > 0
        assert outcome.statuses[503] + outcome.statuses[500] > 0
        # And the queue holds every stored event at least once, and no id the store does not hold
        ids = {m["detail"]["id"] for m in received if m["source"] != "eventhub.artifact"}
        assert len(stored) == len(outcome.acked)
        assert stored - ids == set()
        assert ids == stored
