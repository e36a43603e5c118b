"""Query API: items read per request, at 10,000 and at 40,000 stored events, and p50 latency
of each route through the local gateway.

The events (one tenant, 35 days, correlations and resources of 150 events each) are written
straight into moto server with ``batch_write_item`` in their stored-item form; the counters
are then computed by the rebuild command's logic (``rebuild_counters``: the aggregator's
counting, without a transaction per batch) and written whole. Items read come from the event
store's read meter: ``ScannedCount`` of each index Query, the keys of each BatchGetItem
(counters, page events, edge events). Latencies are moto's more than ours: moto answers an
index Query by looking at every item of the table.

Targets: a list reads at most limit + 1 index entries plus a few counter items (and then
fetches its page's events by id), a time list fewer than limit + 1 + 8 x ceil((limit + 1) / 8)
(it merges the day's eight shards); ``/aggregate`` and ``/stats/by-actor`` over 30 days read at
most 250 counter items, the same at 10k and at 40k events; ``/stats/by-actor`` reads, besides
them, one index entry per actor and bucket of the range with events (its actor items), which
grows with the actors of those buckets and never with their events: its target is exactly the
(bucket, actor) pairs the bench's own events make in the range's buckets.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.bench_intake import quiet_stdout
from bench.common import Metric, moto_server
from functions import table_schema as schema

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "local.json"
TENANT = "acme"
KEY = "dev-key-acme-000000"
START = datetime(2025, 1, 10, tzinfo=UTC)
DAYS = 35
GROUP = 150  # events per correlation and per resource
EVENT_TYPES = [
    "classify_run.processed",
    "classify_run.failed",
    "extract_run.processed",
    "workflow_run.completed",
    "workflow_run.rejected",
    "webset.created",
    "webset.item.created",
    "analysis.analysis_finished",
]
RESOURCE_TYPES = ["classify_run", "extract_run", "workflow_run", "webset", "analysis"]
LIST_LIMIT = 100
# A time list merges the day's shards: fewer than want + shards x ceil(want / shards) entries
# (functions/adapters/shard_merge.py), want being the page and its hasNext probe.
TIME_LIST_BOUND = LIST_LIMIT + 1 + schema.TIME_SHARDS * math.ceil((LIST_LIMIT + 1) / schema.TIME_SHARDS) - 1
AGGREGATE_TARGET = 250


class _Writer:
    """Where the rebuild logic puts its counters here: written whole, nothing to delete."""

    def __init__(self, counters: Any) -> None:
        self.counters = counters

    def replace_all(self, values: Any, tenant_id: str | None) -> int:
        return int(self.counters.put_all(values))

    def mark_counted(self, event_ids: Any) -> None:
        return None


def build_counters(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> int:
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.counter_items import counted_from_item
    from functions.adapters.counters import CounterStore
    from functions.adapters.event_store import EventStore
    from functions.logic.aggregating.rebuild import rebuild_counters

    counters = CounterStore(EventStore(table, dynamodb, BlobStore("unused", None)))
    events = ((counted_from_item(item), None) for item in items)
    result = rebuild_counters(((e, r) for e, r in events if e is not None), _Writer(counters))
    return result.counters


@dataclass
class Seeded:
    count: int
    correlation: str
    resource: tuple[str, str]
    event_id: str
    cursor: str  # of the time list's third page (it crosses a day of the index)


def make_items(start: int, count: int, rng: random.Random) -> list[dict[str, Any]]:
    from functions.jsonutil import dumps
    from functions.models.event import CanonicalEvent, Channel, event_id_for, format_timestamp
    from functions.models.items import to_item

    items = []
    span = DAYS * 86_400
    for n in range(start, start + count):
        event_type = EVENT_TYPES[n % len(EVENT_TYPES)]
        resource_type = RESOURCE_TYPES[(n // GROUP) % len(RESOURCE_TYPES)]
        moment = START + timedelta(seconds=rng.uniform(0, span))
        event = CanonicalEvent(
            id=event_id_for(TENANT, "bench", f"e{n}"),
            tenant_id=TENANT,
            source="bench",
            source_event_id=f"e{n}",
            event_type=event_type,
            occurred_at=format_timestamp(moment),
            received_at=format_timestamp(moment),
            actor_type=("user", "system", "provider")[n % 3],
            actor_id=f"actor-{n % 40}",
            resource_type=resource_type,
            resource_id=f"res-{n // GROUP}",
            correlation_id=f"flow-{n // GROUP}",
            channel=Channel.POLL,
            payload={"n": n, "note": "x" * 200},
        )
        items.append(to_item(event, payload_text=dumps(event.payload), payload_ref=None))
    return items


def write_items(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


class Client:
    """Keep-alive HTTP to the local gateway, with the API key."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        query = f"?{urlencode(params)}" if params else ""
        self.connection.request("GET", path + query, headers={"X-API-Key": KEY})
        response = self.connection.getresponse()
        body = response.read()
        return response.status, json.loads(body)


def measure(client: Client, meter: Any, path: str, params: dict[str, Any] | None = None) -> dict[str, int]:
    """One request: its status checked, the items it read by operation."""
    meter.reset()
    status, body = client.get(path, params)
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {str(body)[:300]}")
    reads = dict(meter.by_operation)
    reads["_total"] = meter.items
    reads["_queries"] = sum(call.startswith("Query:") for call in meter.calls)
    reads["_events"] = len(body.get("events", [])) if isinstance(body, dict) else 0
    return reads


def third_page_cursor(client: Client) -> str:
    """The cursor of the unfiltered time list's third page (pages of LIST_LIMIT)."""
    cursor = None
    for _ in range(2):
        status, body = client.get(
            "/api/v1/events", {"limit": LIST_LIMIT, **({"cursor": cursor} if cursor else {})}
        )
        if status != 200 or not body.get("nextCursor"):
            raise RuntimeError(f"the time list has no third page: {status} {str(body)[:300]}")
        cursor = body["nextCursor"]
    assert cursor is not None
    return cursor


def latency(client: Client, path: str, params: dict[str, Any] | None, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        status, _ = client.get(path, params)
        samples.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
    return statistics.median(samples) * 1000


WINDOW = (
    START + timedelta(days=2, hours=7, minutes=13, seconds=29),
    START + timedelta(days=32, hours=7, minutes=13, seconds=29),
)


def actor_bucket_pairs(items: list[dict[str, Any]]) -> int:
    """How many (bucket, actor) pairs the events make in the whole buckets of the 30-day window:
    the actor items ``/stats/by-actor`` must read over it, computed from the events."""
    from functions.logic.aggregating.ranges import plan_over_days
    from functions.models.event import parse_timestamp

    moments = [(parse_timestamp(i["occurredAt"]["S"]), i["actorType"]["S"], i["actorId"]["S"]) for i in items]
    plan = plan_over_days(WINDOW[0], WINDOW[1], {m.date().isoformat() for m, _, _ in moments})
    return len(
        {
            (bucket, actor_type, actor_id)
            for bucket in plan.buckets
            for moment, actor_type, actor_id in moments
            if bucket.start <= moment < bucket.end
        }
    )


def routes(seeded: Seeded) -> dict[str, tuple[str, dict[str, Any] | None]]:
    window = {"from": WINDOW[0].isoformat(), "to": WINDOW[1].isoformat()}
    kind, resource_id = seeded.resource
    return {
        "get_by_id": (f"/api/v1/events/{seeded.event_id}", None),
        "correlation_list": (f"/api/v1/events/correlation/{seeded.correlation}", {"limit": LIST_LIMIT}),
        "resource_list": (f"/api/v1/events/resource/{kind}/{resource_id}", {"limit": LIST_LIMIT}),
        "type_list": ("/api/v1/events", {"event_type": "webset.created", "limit": LIST_LIMIT}),
        "time_list": ("/api/v1/events", {"limit": LIST_LIMIT}),
        "deep_time_list": ("/api/v1/events", {"limit": LIST_LIMIT, "cursor": seeded.cursor}),
        "aggregate_30d": ("/api/v1/events/aggregate", window),
        "stats_30d": ("/api/v1/events/stats/by-actor", window),
    }


def _index_and_counters(reads: dict[str, int]) -> int:
    return sum(v for k, v in reads.items() if k.startswith(("Query:", "BatchGetItem:counters")))


def metrics_for(label: str, reads: dict[str, dict[str, int]], pairs: int) -> list[Metric]:
    found = []
    for route, read in reads.items():
        name = f"query.items.{route}.{label}"
        if route == "get_by_id":
            found.append(Metric(name, read["_total"], "items", target="<= 1", higher_is_better=False,
                                met=read["_total"] <= 1))  # fmt: skip
        elif route.endswith("_list"):
            index = sum(v for k, v in read.items() if k.startswith("Query:"))
            counters = read.get("BatchGetItem:counters", 0)
            most = TIME_LIST_BOUND if route.endswith("time_list") else LIST_LIMIT + 1
            found.append(
                Metric(
                    name,
                    _index_and_counters(read),
                    "items",
                    target=f"<= {most} + counters",
                    higher_is_better=False,
                    met=index <= most and counters <= 5,
                )
            )
            found.append(Metric(f"query.index_entries.{route}.{label}", index, "items",
                                higher_is_better=False))  # fmt: skip
            found.append(Metric(f"query.index_queries.{route}.{label}", read["_queries"], "requests",
                                higher_is_better=False))  # fmt: skip
            found.append(
                Metric(
                    f"query.fetched.{route}.{label}",
                    read.get("BatchGetItem:events", 0),
                    "items",
                    target=f"= page ({read['_events']})",
                    higher_is_better=False,
                    met=read.get("BatchGetItem:events", 0) == read["_events"],
                )
            )
        else:
            actors = read.get("Query:actors", 0)
            others = read["_total"] - actors
            found.append(
                Metric(
                    name,
                    others,
                    "items",
                    target=f"<= {AGGREGATE_TARGET}",
                    higher_is_better=False,
                    met=others <= AGGREGATE_TARGET,
                )
            )
            if route == "stats_30d":
                found.append(
                    Metric(
                        f"query.actor_entries.{route}.{label}",
                        actors,
                        "items",
                        target=f"= (bucket, actor) pairs ({pairs})",
                        higher_is_better=False,
                        met=actors == pairs,
                    )
                )
    return found


def run(quick: bool) -> list[Metric]:
    from eventhub.local.resources import ResourceNames
    from eventhub.local.stack import LocalStack
    from functions.models.event import event_id_for

    sizes = (1_000, 4_000) if quick else (10_000, 40_000)
    rounds = 7
    rng = random.Random(5)  # noqa: S311 - reproducible data, not crypto
    names = ResourceNames(table=f"eventhub-bench-q-{uuid.uuid4().hex[:6]}", bucket="eventhub-bench-q")
    results: list[Metric] = []
    with (
        moto_server() as endpoint,
        LocalStack(CONFIG, services=[], aws_endpoint_url=endpoint, names=names) as stack,
    ):
        from functions.adapters import factory

        dynamodb = stack.client("dynamodb")
        meter = factory.event_store().meter
        items: list[dict[str, Any]] = []
        by_size: dict[int, dict[str, dict[str, int]]] = {}
        for size in sizes:
            # A connection per size: the local gateway closes one left silent while the next
            # size is written (its read timeout), which the first request after would hit.
            client = Client(stack.port)
            started = time.perf_counter()
            more = make_items(len(items), size - len(items), rng)
            write_items(dynamodb, names.table, more)
            items += more
            seeded_at = time.perf_counter()
            counters = build_counters(dynamodb, names.table, items)
            counted_at = time.perf_counter()
            label = f"{size // 1000}k"
            print(
                f"[bench] query: {size} events stored ({seeded_at - started:.1f}s), "
                f"{counters} counter items written ({counted_at - seeded_at:.1f}s)",
                file=sys.stderr,
                flush=True,
            )
            with quiet_stdout():
                cursor = third_page_cursor(client)
            seeded = Seeded(
                size, "flow-3", ("analysis", "res-4"), event_id_for(TENANT, "bench", "e7"), cursor
            )
            with quiet_stdout():
                reads = {route: measure(client, meter, *call) for route, call in routes(seeded).items()}
            by_size[size] = reads
            results += metrics_for(label, reads, actor_bucket_pairs(items))
            if size == sizes[0]:  # moto's index queries grow with the table: latency at the smaller one
                with quiet_stdout():
                    for route, call in routes(seeded).items():
                        p50 = latency(client, *call, rounds)
                        results.append(
                            Metric(
                                f"query.p50_ms.{route}.{label}", round(p50, 1), "ms", higher_is_better=False
                            )
                        )
        small, large = (by_size[s] for s in sizes)
        for route in ("aggregate_30d", "stats_30d"):
            # Counter buckets depend on the range only; the raw sub-minute edges on how many
            # events fall in those two partial minutes (index entry + actor fields each).
            buckets = [by["BatchGetItem:counters"] for by in (small[route], large[route])]
            results.append(
                Metric(
                    f"query.counter_items.{route}.growth",
                    round(buckets[1] / max(buckets[0], 1), 2),
                    "x",
                    target="1 (same at 10k and 40k)",
                    higher_is_better=False,
                    met=buckets[0] == buckets[1],
                )
            )
            for size, by in zip(sizes, (small, large), strict=True):
                edge = sum(v for k, v in by[route].items() if k in ("Query:byTime", "BatchGetItem:edges"))
                results.append(Metric(f"query.edge_items.{route}.{size // 1000}k", edge, "items",
                                      higher_is_better=False))  # fmt: skip
    return results


if __name__ == "__main__":
    for metric in run("--quick" in sys.argv):
        print(metric.as_dict())
