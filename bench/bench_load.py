"""Load with nothing lost: 10,000 signed webhooks, 16 senders, 10% duplicates, 5% store faults.

Three processes, as in a real deployment's shape: a moto server (the AWS), the local stack
(`python -m eventhub.local`, what `make run` starts) with the store fault switch on, and this
process sending. Senders retry non-2xx with backoff, like providers do. At the end:

- every event acknowledged with a 2xx is stored, exactly once;
- the stored count equals the distinct count;
- the aggregates served by the query API equal a brute-force count of what was sent;
- every 5xx answer was an injected store fault (the stack counts what it injected).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Metric, free_port, moto_server
from eventhub.local.signing import sign
from functions.models.config import Provider, load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "local.json"
SENDERS = 16
FAULT_RATE = float(os.environ.get("LOAD_FAULT_RATE", "0.05"))
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class Delivery:
    connection: str
    provider: Provider
    tenant: str
    key: str  # provider event id
    event_type: str
    body: bytes


@dataclass
class Outcome:
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    acked: set[tuple[str, str]] = field(default_factory=set)
    unacked: set[tuple[str, str]] = field(default_factory=set)
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _body(provider: Provider, key: str, event_type: str, n: int, at: str | None) -> bytes:
    """A body as the provider sends it. ``at`` is its event time; ``None`` leaves it out (an Extend
    body without ``updatedAt`` takes the time it is received, as the mapper documents)."""
    match provider:
        case Provider.EXTEND:
            data: dict[str, Any] = {
                "eventId": key,
                "eventType": event_type,
                "payload": {"object": "extract_run", "id": f"exr_{n % 97}", "status": "PROCESSED"},
            }
            if at is not None:
                data["payload"]["updatedAt"] = at
        case Provider.EXA:
            data = {
                "id": key,
                "object": "event",
                "type": event_type,
                "data": {"object": "webset", "id": f"ws_{n % 89}"},
                "createdAt": at,
            }
        case Provider.KLAVI:
            data = {
                "eventId": key,
                "eventType": "analysis",
                "eventName": "analysis_finished",
                "eventTime": at,
                "payload": {"batchId": f"batch-{n % 83}"},
            }
        case _:
            data = {"type": event_type, "timestamp": at, "data": {"id": f"inv_{n}"}}
    return json.dumps(data).encode()


def plan(total: int, now: datetime, seed: int = 7) -> list[Delivery]:
    """``total`` sends: 90% distinct events across the push connections, 10% re-sends of them.

    Event times are spread over the hour before ``now`` (the run's own clock, never a fixed
    date); every fifth Extend body carries no time, so the stack stamps it on receipt."""
    config = load_config(CONFIG)
    webhook = [c for c in config.connections if c.receives_webhooks]
    types = {
        Provider.EXTEND: ["extract_run.processed", "extract_run.failed", "workflow_run.completed"],
        Provider.EXA: ["webset.created", "webset.idle", "webset.item.created"],
        Provider.KLAVI: ["analysis.analysis_finished"],
        Provider.STANDARD_WEBHOOKS: ["invoice.paid", "invoice.failed"],
    }
    rng = random.Random(seed)  # noqa: S311
    distinct = total - total // 10
    events = []
    for n in range(distinct):
        connection = webhook[n % len(webhook)]
        event_type = rng.choice(types[connection.provider])
        key = f"load-{n:06d}"
        occurred = now - timedelta(seconds=rng.randrange(3600))
        at = None if connection.provider is Provider.EXTEND and n % 5 == 0 else _iso(occurred)
        events.append(
            Delivery(
                connection.id,
                connection.provider,
                connection.tenant_id,
                key,
                "analysis.analysis_finished" if connection.provider is Provider.KLAVI else event_type,
                _body(connection.provider, key, event_type, n, at),
            )
        )
    sends = events + [rng.choice(events) for _ in range(total - distinct)]
    rng.shuffle(sends)
    return sends


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _secret(connection_id: str) -> str:
    connection = load_config(CONFIG).connection(connection_id)
    assert connection is not None
    value = connection.secrets[0]
    assert isinstance(value, str)
    return value


def _send(url: str, delivery: Delivery, secret: str, outcome: Outcome) -> None:
    for attempt in range(MAX_ATTEMPTS):
        headers = sign(delivery.provider, secret, delivery.body, message_id=delivery.key)
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{url}/webhooks/{delivery.connection}", data=delivery.body, headers=headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            status, text = 0, f"connection failed: {error}"  # retried, like a provider would
        elapsed = time.perf_counter() - started
        with outcome.lock:
            outcome.statuses[status] += 1
            outcome.latencies.append(elapsed)
            if status >= 500 or status == 0:
                outcome.server_errors.append(text)
            if 200 <= status < 300:
                outcome.acked.add((delivery.tenant, delivery.key))
                return
        time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jittered backoff
    with outcome.lock:
        outcome.unacked.add((delivery.tenant, delivery.key))


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the local stack exited before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("the local stack did not become ready")


def _stored_source_ids(dynamodb: Any, table: str) -> Counter:
    """Verification reads every event item (a benchmark check, not a request path)."""
    counts: Counter = Counter()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "tenantId, sourceEventId, #k",
        "ExpressionAttributeNames": {"#k": "kind"},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page["Items"]:
            if item.get("kind", {}).get("S") == "event":
                counts[(item["tenantId"]["S"], item["sourceEventId"]["S"])] += 1
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _aggregate(url: str, tenant: str, window: tuple[datetime, datetime]) -> dict[str, int]:
    key = next(k.key for k in load_config(CONFIG).api_keys if k.tenant_id == tenant and k.key)
    query = urllib.parse.urlencode({"from": _iso(window[0]), "to": _iso(window[1])})
    request = urllib.request.Request(  # noqa: S310
        f"{url}/api/v1/events/aggregate?{query}",
        headers={"X-API-Key": key or ""},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = json.loads(response.read())
    return {entry["key"]: entry["count"] for entry in body["byEventType"]}


def run_load(total: int) -> dict[str, Any]:

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    with moto_server(env) as endpoint:
        return _run_against(endpoint, env, total)


def _run_against(endpoint: str, env: dict[str, str], total: int) -> dict[str, Any]:
    import boto3

    stack_port = free_port()
    python = sys.executable
    stats_file = ROOT / ".local" / f"load-faults-{stack_port}.json"
    stats_file.parent.mkdir(exist_ok=True)
    stack_log = (ROOT / ".local" / f"load-stack-{stack_port}.log").open("w")
    stack = subprocess.Popen(
        [
            python, "-m", "eventhub.local", "--config", str(CONFIG), "--port", str(stack_port), "--quiet",
            "--store-fault-rate", str(FAULT_RATE), "--fault-seed", "11", "--aws-endpoint-url", endpoint,
            "--fault-stats", str(stats_file),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stack_log,  # a file: an unread pipe would fill and block the stack's threads
    )  # fmt: skip
    url = f"http://127.0.0.1:{stack_port}"
    try:
        _wait_ready(url, stack)
        # The aggregate window is derived from the events sent: from an hour before the first
        # send (the earliest event time) to a margin after the last receipt.
        first_send = datetime.now(UTC)
        sends = plan(total, first_send)
        secrets = {d.connection: _secret(d.connection) for d in sends}
        outcome = Outcome()
        started = time.perf_counter()
        progress_every = max(total // 10, 1)
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            futures = [pool.submit(_send, url, d, secrets[d.connection], outcome) for d in sends]
            for done, future in enumerate(futures, 1):
                future.result()
                if done % progress_every == 0:
                    print(f"[load] {done}/{total} sent", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - started
        window = (first_send - timedelta(hours=1, minutes=5), datetime.now(UTC) + timedelta(minutes=5))
        distinct = {(d.tenant, d.key) for d in sends}
        expected_types: dict[str, Counter] = {}
        for delivery in {(d.tenant, d.key): d for d in sends}.values():
            expected_types.setdefault(delivery.tenant, Counter())[delivery.event_type] += 1
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )
        stored = _stored_source_ids(dynamodb, "eventhub-events")
        # Aggregates follow the stream: give the dispatcher time to drain (it retries faults too).
        aggregates_match = False
        served: dict[str, dict[str, int]] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not aggregates_match:
            served = {tenant: _aggregate(url, tenant, window) for tenant in expected_types}
            aggregates_match = all(served[t] == dict(c) for t, c in expected_types.items())
            if not aggregates_match:
                time.sleep(1)
        if not aggregates_match:
            print(f"[load] aggregates expected {expected_types} served {served}", file=sys.stderr)
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stack.kill()
    stack_log.close()
    faults = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    stats_file.unlink(missing_ok=True)
    injected_puts = faults.get("injectedByOperation", {}).get("PutItem", 0)
    latencies = sorted(outcome.latencies)
    five_xx = sum(n for status, n in outcome.statuses.items() if status >= 500)
    return {
        "sends": total,
        "requests": len(latencies),
        "distinct": len(distinct),
        "acked": len(outcome.acked),
        "unacked": len(outcome.unacked),
        "stored": sum(stored.values()),
        "stored_distinct": len(stored),
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "acked_not_stored": len(outcome.acked - set(stored)),
        "aggregates_match": aggregates_match,
        "five_xx": five_xx,
        "injected_put_faults": injected_puts,
        "non_injected_5xx": sum(1 for t in outcome.server_errors if "store_unavailable" not in t),
        "throughput": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "statuses": dict(outcome.statuses),
    }


def run(quick: bool) -> list[Metric]:
    result = run_load(1_000 if quick else 10_000)
    print(f"[load] {json.dumps(result)}", file=sys.stderr)
    lossless = (
        result["unacked"] == 0
        and result["acked_not_stored"] == 0
        and result["stored_twice"] == 0
        and result["stored"] == result["distinct"]
    )
    only_injected = result["non_injected_5xx"] == 0 and result["five_xx"] <= result["injected_put_faults"]
    return [
        Metric("load.sends", result["sends"], "webhooks", target="10,000 at 16 senders"),
        Metric("load.stored_equals_distinct", float(lossless), "bool", target="1", met=lossless),
        Metric("load.aggregates_equal_brute_force", float(result["aggregates_match"]), "bool", target="1",
               met=result["aggregates_match"]),
        Metric("load.5xx_all_injected", float(only_injected), "bool", target="1", met=only_injected),
        Metric("load.5xx_responses", result["five_xx"], "responses"),
        Metric("load.throughput", result["throughput"], "req/s"),
        Metric("load.p50_latency", result["p50_ms"], "ms", higher_is_better=False),
        Metric("load.p99_latency", result["p99_ms"], "ms", higher_is_better=False),
    ]  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(run_load(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000), indent=2))
