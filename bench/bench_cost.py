"""Cost per million events, measured: a realistic mix through the local stack, every billable
unit metered as it happens, priced with bench/prices.py.

The mix: signed webhooks of the four push providers with their sample bodies (Extend, Exa,
Klavi with a result file, Standard Webhooks) in equal parts, 10% of them sent again; Klavi's
queue, VAI's and Exa's event lists polled (each Klavi event with a result file the copier
fetches); and one read of the query API per ten events stored, lists of 50 and aggregates in
turn. Every stream consumer runs (copier, aggregator, publisher). Then:

- DynamoDB WRU/RRU from the real item and index-entry sizes (bench/metering.py);
- API requests: webhooks at the price of the webhook endpoint the stack deploys, reads at
  REST's; Lambda requests and GB-seconds at each function's configured memory from its measured
  durations (the local runtime's wall time, rounded up to the millisecond);
- EventBridge entries in 64 KB chunks, S3, SQS and Secrets Manager requests, poll schedules;
- log bytes: what the functions write (their JSON lines and metric documents), Lambda's own
  START/END/REPORT lines and the REST stage's access log, each log event with its 26 bytes;
- X-Ray traces at Lambda's fixed sampling (1 a second, then 5%) for the month's rate that a
  million events implies, for each function that traces.

Every line is scaled to a million stored events. Durations here come from moto on this machine,
not from DynamoDB: the GB-seconds line is an upper-bound-ish estimate, the rest are exact counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import prices as p
from bench.common import Metric, free_port
from bench.metering import Meter

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "local.json"
SAMPLES = ROOT / "events" / "webhooks"
RESEND_RATE = 0.10
READS_PER_EVENT = 0.10
TARGET_DOLLARS = 5.0
PUSH = {  # connection -> (provider, sample)
    "extend-dev": ("extend", "extend/classify_run.processed.json"),
    "exa-dev": ("exa", "exa/webset.created.json"),
    "klavi-push": ("klavi", "klavi/analysis_finished.json"),
    "svix-dev": ("standard-webhooks", "standard-webhooks/invoice.paid.json"),
}
KEYS = {"acme": "dev-key-acme-000000", "globex": "dev-key-globex-00000"}


def say(text: str) -> None:
    print(f"[cost] {text}", file=sys.stderr, flush=True)


# -- what is deployed --------------------------------------------------------------------------


def deployed() -> dict[str, Any]:
    """Per function: configured memory and whether it traces; and the webhook endpoint's kind."""
    from functions.models.config import HubConfig
    from infra import constants as c

    specs = [c.INTAKE, c.QUERY, c.POLLER, c.COPIER, c.PUBLISHER, c.AGGREGATOR]
    tracing = HubConfig().observability.tracing  # the stack config's default
    return {
        "memory": {spec.handler: spec.memory_mb for spec in specs},
        "names": {spec.handler: spec.name.lower() for spec in specs},
        "traced": {spec.handler: tracing for spec in specs},
        "webhook_endpoint": getattr(c, "WEBHOOK_ENDPOINT", "rest"),
    }


def aggregator_batch_at_a_million() -> int:
    """The aggregator's mean batch at a million events a month: one record, then what arrives in
    its mapping's batching window (0.39 events a second x 60 s; at most its batch size)."""
    from infra import constants as c

    per_second = 1_000_000 / p.SECONDS_PER_MONTH
    window = c.AGGREGATOR_BATCHING_WINDOW.to_seconds()
    return min(c.AGGREGATOR_BATCH_SIZE, 1 + round(per_second * window))


@contextlib.contextmanager
def production_batches(size: int) -> Iterator[None]:
    """The local aggregator batched as in AWS at a million events a month. The mix arrives far
    faster than that, so the local dispatch would hand it batches of whatever came in its 0.2 s
    poll; a batch costs one write per counter it touches, so the bench gives it batches of
    ``size`` (a partial one waits as long as it would in AWS; the suite hands it over at the end,
    ``deliver_held``)."""
    from dataclasses import replace

    from eventhub.local.streams import dispatcher
    from infra import constants as c

    original = dispatcher.local_subscriptions
    window = c.AGGREGATOR_BATCHING_WINDOW.to_seconds()

    def subscriptions(**kwargs: Any) -> list[Any]:
        return [
            replace(s, batch_size=size, batching_window_seconds=window) if s.name == "aggregator" else s
            for s in original(**kwargs)
        ]

    dispatcher.local_subscriptions = subscriptions  # type: ignore[assignment]
    try:
        yield
    finally:
        dispatcher.local_subscriptions = original  # type: ignore[assignment]


# -- metering the local stack ------------------------------------------------------------------


@dataclass
class Invocations:
    count: Counter = field(default_factory=Counter)
    billed_ms: Counter = field(default_factory=Counter)
    cpu_ms: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # the thread's CPU
    lock: threading.Lock = field(default_factory=threading.Lock)


# The handler the current thread is running (set around each invocation): whose log lines these are.
_running = threading.local()


class LogBytes(io.TextIOBase):
    """A text sink that counts what is written to it, line by line, and by the function writing."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.lines_by: Counter = Counter()
        self.bytes_by: Counter = Counter()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        size, lines = len(text.encode("utf-8")), text.count("\n")
        who = getattr(_running, "handler", "outside a function")
        with self._lock:
            self.bytes += size
            self.lines += lines
            self.bytes_by[who] += size
            self.lines_by[who] += lines
        return len(text)

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def metered_functions(meter: Meter) -> Iterator[None]:
    """The functions' boto3 clients, made through factory.client, are metered."""
    import functools

    from functions.adapters import factory

    original = factory.client
    made = original.__wrapped__ if hasattr(original, "__wrapped__") else original

    @functools.cache
    def client(service: str) -> Any:
        return meter.attach(service, made(service))

    factory.client = client
    factory.reset()
    try:
        yield
    finally:
        factory.client = original
        factory.reset()


@contextlib.contextmanager
def counted_logs() -> Iterator[LogBytes]:
    """Everything the functions log (the Powertools JSON lines, and the metric documents they
    print) goes to a counting sink instead of the terminal."""
    from functions.observability import logger

    sink = LogBytes()
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(sink) for h in handlers]
    stdout, sys.stdout = sys.stdout, sink
    try:
        yield sink
    finally:
        sys.stdout = stdout
        for handler, stream in zip(handlers, streams, strict=True):
            if stream is not None:
                handler.setStream(stream)


def timed(stack: Any, invocations: Invocations, meter: Meter) -> None:
    """Each invocation's duration, less what the meter itself spent in it (its reads of items
    before and after writes, its re-run queries), rounded up to the millisecond as Lambda bills."""
    runtime = stack.runtime
    original = runtime.invoke

    def invoke(handler_path: str, event: dict[str, Any], **kwargs: Any) -> Any:
        began, metering = time.perf_counter(), meter.spent()
        cpu, metering_cpu = time.thread_time(), meter.cpu_spent()
        _running.handler = handler_path
        try:
            return original(handler_path, event, **kwargs)
        finally:
            _running.handler = "outside a function"
            elapsed = time.perf_counter() - began - (meter.spent() - metering)
            used = time.thread_time() - cpu - (meter.cpu_spent() - metering_cpu)
            billed = max(1, math.ceil(elapsed * 1000))
            with invocations.lock:
                invocations.count[handler_path] += 1
                invocations.billed_ms[handler_path] += billed
                invocations.cpu_ms[handler_path] += used * 1000

    runtime.invoke = invoke
    stack.gateway.invoke = invoke  # the gateway holds the runtime's invoke it was made with


# -- the mix -----------------------------------------------------------------------------------


def _config(tmp: Path, ports: dict[str, int]) -> Path:
    config = json.loads(CONFIG.read_text())
    for connection in config["connections"]:
        poll = connection.get("poll")
        if poll is not None:
            provider = connection["provider"]
            poll["baseUrl"] = f"http://127.0.0.1:{ports[provider]}"
            poll["everySeconds"] = 86_400  # polled when the mix says, not on a timer
    path = tmp / "cost.json"
    path.write_text(json.dumps(config))
    return path


def webhook_bodies(count: int, klavi_url: str) -> list[tuple[str, str, bytes, str]]:
    """(connection, provider, body, message id) for ``count`` webhooks, the providers in turn."""
    from eventhub.demo.webhooks import klavi_on_fake

    made = []
    connections = list(PUSH)
    for n in range(count):
        connection = connections[n % len(connections)]
        provider, sample = PUSH[connection]
        document = json.loads((SAMPLES / sample).read_text())
        match provider:
            case "extend":
                document["eventId"] = f"evt_cost_{n}"
            case "exa":
                document["id"] = f"evt_cost_{n}"
            case "klavi":
                document["eventId"] = f"cost-{n}"
                document["payload"]["batchId"] = f"{90_000_000_000 + n}"
            case _:
                document["data"]["id"] = f"inv_cost_{n}"
        body = json.dumps(document, indent=2).encode()
        if provider == "klavi":
            body = klavi_on_fake(body, klavi_url)
        made.append((connection, provider, body, f"msg_cost_{n}"))
    return made


def send(url: str, connection: str, provider: str, body: bytes, message_id: str, secret: str) -> int:
    from eventhub.local.signing import sign

    headers = sign(provider, secret, body, message_id=message_id)
    request = urllib.request.Request(
        f"{url}/webhooks/{connection}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def read(url: str, path: str, key: str) -> int:
    request = urllib.request.Request(f"{url}{path}", headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local
        answer.read()
        return int(answer.status)


def quiet(meter: Meter, invocations: Invocations, *, still_for: float = 3.0, limit: float = 300.0) -> None:
    """Wait until nothing is billed for ``still_for`` seconds: the stream consumers are done."""
    deadline = time.monotonic() + limit

    def snapshot() -> tuple[Any, ...]:
        u = meter.usage
        return (
            sum(u.wru.values()),
            sum(u.rru.values()),
            u.eventbridge_entries,
            sum(invocations.count.values()),
        )

    last, since = snapshot(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = snapshot()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= still_for:
            return


def stored_events(stack: Any) -> Counter:
    ddb = stack.client("dynamodb")
    tenants: Counter = Counter()
    for page in ddb.get_paginator("scan").paginate(
        TableName=stack.resources["table"],
        FilterExpression="kind = :event",
        ExpressionAttributeValues={":event": {"S": "event"}},
        ProjectionExpression="tenantId",
    ):
        tenants.update(item["tenantId"]["S"] for item in page["Items"])
    return tenants


@dataclass
class Run:
    stored: int
    webhooks: int
    resends: int
    polled: int
    reads: int
    usage: Any
    invocations: Invocations
    logs: LogBytes
    seconds: float


def run_mix(webhooks: int, polled_each: int) -> Run:
    import tempfile

    from eventhub.demo.providers import PollTarget, SimulatedProviders
    from eventhub.local.scheduler import PollScheduler
    from eventhub.local.stack import LocalStack
    from eventhub.local.streams.dispatcher import StreamDispatcher
    from functions.models.config import load_config

    with tempfile.TemporaryDirectory() as directory:
        ports = {"klavi": free_port(), "vai": free_port(), "exa": free_port()}
        config_path = _config(Path(directory), ports)
        config = load_config(config_path)
        targets = {
            c.provider.value: PollTarget(str(c.poll.credential), ports[c.provider.value])
            for c in config.connections
            if c.poll is not None
        }
        providers = SimulatedProviders(targets, events=polled_each, every=86_400)
        meter: Meter | None = None
        providers.start()
        try:
            stack = LocalStack(config_path)
            meter = Meter(stack.client)
            invocations = Invocations()
            began = time.monotonic()
            batch = aggregator_batch_at_a_million()
            say(f"aggregator batches of {batch} records, as at a million events a month")
            with production_batches(batch), metered_functions(meter), counted_logs() as logs, stack:
                timed(stack, invocations, meter)
                secrets = {c.id: str(c.secrets[0]) for c in config.connections if c.secrets}
                bodies = webhook_bodies(webhooks, providers.klavi.url)
                rng = random.Random(7)
                resent = [b for b in bodies if rng.random() < RESEND_RATE]
                say(f"sending {len(bodies)} webhooks and {len(resent)} re-sends")
                statuses = Counter(send(stack.url, *b, secrets[b[0]]) for b in [*bodies, *resent])
                if set(statuses) != {200}:
                    raise RuntimeError(f"webhooks answered {dict(statuses)}")
                scheduler = next(s for s in stack.services if isinstance(s, PollScheduler))
                for connection in scheduler.connections:
                    scheduler.run_once(connection.id)
                say("polled; waiting for the stream consumers")
                quiet(meter, invocations)
                dispatcher = next(s for s in stack.services if isinstance(s, StreamDispatcher))
                dispatcher.deliver_held()  # the last partial batch: its window would end in AWS
                quiet(meter, invocations)
                stored = stored_events(stack)
                reads = max(1, round(sum(stored.values()) * READS_PER_EVENT))
                say(f"{sum(stored.values())} events stored; {reads} reads")
                tenants = list(KEYS)
                for n in range(reads):
                    path = "/api/v1/events?limit=50" if n % 2 == 0 else "/api/v1/events/aggregate"
                    read(stack.url, path, KEYS[tenants[n % len(tenants)]])
                quiet(meter, invocations, still_for=1.0)
                seconds = time.monotonic() - began
            return Run(sum(stored.values()), len(bodies), len(resent), polled_each * 3, reads, meter.usage,
                       invocations, logs, seconds)  # fmt: skip
        finally:
            providers.stop()


# -- pricing -----------------------------------------------------------------------------------


def monthly_traces(invocations: int, per_million: float) -> float:
    """Traces Lambda records in a month for a function invoked ``invocations`` times per run, at
    the rate a million events a month implies (1 a second, then 5% of the rest)."""
    rate = invocations * per_million / p.SECONDS_PER_MONTH
    sampled = min(rate, p.XRAY_RESERVOIR_PER_SECOND) + p.XRAY_FIXED_RATE * max(
        rate - p.XRAY_RESERVOIR_PER_SECOND, 0
    )
    return sampled * p.SECONDS_PER_MONTH


def price(run: Run) -> dict[str, float]:
    """Dollars per million stored events, by line."""
    shape = deployed()
    scale = 1_000_000 / run.stored
    usage, calls = run.usage, run.invocations
    lines: dict[str, float] = defaultdict(float)
    intake = "functions.handlers.intake.handler"
    query = "functions.handlers.query.handler"
    webhook_price = {
        "rest": p.PRICES["apigateway.rest"],
        "http": p.PRICES["apigateway.http"],
        "function-url": p.PRICES["lambda.function_url"],
    }[shape["webhook_endpoint"]]
    lines[f"webhook requests ({shape['webhook_endpoint']})"] = calls.count[intake] * webhook_price
    lines["query requests (rest)"] = calls.count[query] * p.PRICES["apigateway.rest"]
    for table_op, units in usage.wru.items():
        table, _, operation = table_op.partition(":")
        kind = "registry" if "registry" in table.lower() else "events"
        lines[f"dynamodb writes ({kind}, {operation})"] += units * p.PRICES["dynamodb.wru"]
    for table_op, units in usage.rru.items():
        table, _, operation = table_op.partition(":")
        kind = "registry" if "registry" in table.lower() else ("index" if "/" in table else "events")
        kind = "counters" if operation == "counters" else kind
        lines[f"dynamodb reads ({kind})"] += units * p.PRICES["dynamodb.rru"]
    for handler, count in calls.count.items():
        name = shape["names"].get(handler, handler)
        gb_seconds = calls.billed_ms[handler] / 1000 * shape["memory"].get(handler, 128) / 1024
        lines[f"lambda {name}"] += (
            count * p.PRICES["lambda.request"] + gb_seconds * p.PRICES["lambda.gb_second"]
        )
    lines["eventbridge entries"] = usage.eventbridge_chunks * p.PRICES["eventbridge.entry"]
    lines["s3 requests"] = usage.s3["write"] * p.PRICES["s3.write"] + usage.s3["read"] * p.PRICES["s3.read"]
    lines["sqs requests"] = usage.sqs_requests * p.PRICES["sqs.request"]
    lines["secrets manager"] = usage.secrets_calls * p.PRICES["secretsmanager.call"]
    polls = calls.count["functions.handlers.poller.handler"]
    lines["scheduler invocations"] = polls * p.PRICES["scheduler.invocation"]
    invocations = sum(calls.count.values())
    log_bytes = run.logs.bytes + run.logs.lines * p.LOG_EVENT_OVERHEAD_BYTES
    log_bytes += invocations * (
        p.LAMBDA_PLATFORM_LOG_BYTES + p.LAMBDA_PLATFORM_LOG_LINES * p.LOG_EVENT_OVERHEAD_BYTES
    )
    rest_requests = calls.count[query] + (calls.count[intake] if shape["webhook_endpoint"] == "rest" else 0)
    log_bytes += rest_requests * (p.API_ACCESS_LOG_BYTES + p.LOG_EVENT_OVERHEAD_BYTES)
    lines["cloudwatch logs"] = log_bytes * p.PRICES["logs.byte"]
    scaled = {line: dollars * scale for line, dollars in lines.items()}
    traces = sum(
        monthly_traces(count, scale)
        for handler, count in calls.count.items()
        if shape["traced"].get(handler, True)
    )
    scaled["x-ray traces (per month at 1 M events/month)"] = traces * p.PRICES["xray.trace"]
    return dict(sorted(scaled.items(), key=lambda kv: -kv[1]))


def run(quick: bool) -> list[Metric]:
    webhooks, polled_each = (120, 20) if quick else (1_200, 100)
    mix = run_mix(webhooks, polled_each)
    lines = price(mix)
    total = sum(lines.values())
    print(
        f"cost per million stored events ({mix.stored} stored: {mix.webhooks} webhooks + {mix.resends} "
        f"re-sends, {mix.polled} polled, {mix.reads} reads; {p.REGION} on-demand prices of {p.PRICES_DATE})"
    )
    for line, dollars in lines.items():
        print(f"  {line:<52} ${dollars:8.3f}")
    print(f"  {'total':<52} ${total:8.3f}")
    units = mix.usage
    per_event = {op: round(n / mix.stored, 3) for op, n in sorted(units.s3_operations.items())}
    print(f"  s3 requests per stored event: {per_event}")
    per_event = {op: round(n / mix.stored, 3) for op, n in sorted(units.wru.items())}
    print(f"  WRU per stored event: {per_event}")
    print_functions(mix)
    metrics = [
        Metric("cost.total_per_million_events", round(total, 3), "$", target=f"<= {TARGET_DOLLARS:g}",
               higher_is_better=False, met=total <= TARGET_DOLLARS),
        Metric("cost.wru_per_event", round(sum(units.wru.values()) / mix.stored, 2), "WRU",
               higher_is_better=False),
        Metric("cost.rru_per_event", round(sum(units.rru.values()) / mix.stored, 2), "RRU",
               higher_is_better=False),
        Metric("cost.log_bytes_per_event", round(mix.logs.bytes / mix.stored), "B", higher_is_better=False),
    ]  # fmt: skip
    metrics += [
        Metric(f"cost.line.{_slug(line)}", round(dollars, 3), "$", higher_is_better=False)
        for line, dollars in lines.items()
    ]
    return metrics


def print_functions(mix: Run) -> None:
    """Per function: invocations, mean billed duration, the CPU time of the invoking thread in
    it (this machine's cores; moto's own work runs on other threads), and the log lines it wrote."""
    counts, billed, cpu = mix.invocations.count, mix.invocations.billed_ms, mix.invocations.cpu_ms
    lines = mix.logs.lines_by
    print("  per function: invocations x mean billed ms (mean CPU ms); its log lines per invocation")
    for handler, n in sorted(counts.items()):
        name = handler.split(".")[2]
        print(f"    {name:<11} {n:>5} x {billed[handler] / n:6.1f} ms ({cpu[handler] / n:5.1f} ms CPU); "
              f"{lines[handler] / n:.2f} log lines")  # fmt: skip
    outside = sum(n for handler, n in lines.items() if handler not in counts)
    platform = p.LAMBDA_PLATFORM_LOG_LINES * sum(counts.values())
    print(f"  log lines per stored event: {mix.logs.lines / mix.stored:.2f} written by the functions"
          f" ({outside} outside any invocation), {platform / mix.stored:.2f} Lambda's own")  # fmt: skip


def _slug(line: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", line.lower()).strip("_")
