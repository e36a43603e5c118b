"""Cold start: a fresh Python process imports a handler and serves one sample event against
moto server, next to a fresh process that imports boto3, creates the same clients and makes
the same single call (the intake's conditional put, the query's get). Rounds alternate the
two, so both see the same machine; the figures are medians.

Two modes, side by side in every round:

- ``cold_start.lambda.<handler>``: as Lambda runs it. The handler is imported from a read-only
  copy of the built asset (``bench.lambda_task``: what ``infra/bundling.py`` makes, for this
  machine's platform) with ``PYTHONDONTWRITEBYTECODE=1``, by a Python of the runtime's minor
  version when there is one; the baseline runs the same interpreter with a compiled boto3, as
  the runtime ships it. Target <= 1.5x.
- ``cold_start.<handler>``: from this checkout with its virtualenv, bytecode compiled once, as
  an installed package has it. Target <= 1.35x.

Each is measured from spawning the process to its answer (interpreter start-up included, as
in a Lambda cold start); ``.in_process`` from the child's first statement to the answer
(imports, client creation, the call: the part the code decides); ``.cpu`` the process's CPU
time, which moves less with the machine's load than the clock does.

``python -m bench.bench_cold_start --instructions [--only query,copier]`` runs one pair per mode
under ``valgrind --tool=callgrind`` instead and reports ``<name>.instructions``: the instructions
each process executed, start-up included. They do not move with the machine's load, so they
decide between two versions of the code where the clock, on a shared machine, cannot.
"""

from __future__ import annotations

import compileall
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import Metric, median_of
from bench.lambda_task import LambdaTask, lambda_task

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "local.json"
LAMBDA_TARGET = 1.5
CURRENT_TARGET = 1.35

# A Lambda-like context, defined in the child without importing anything.
_CONTEXT = """
class Context:
    function_name = "eventhub-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:eventhub-bench"
    aws_request_id = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
"""

OURS = (
    "import time\n"
    "_t0 = time.perf_counter()\n"
    "import importlib, json, sys\n"
    "module = importlib.import_module(sys.argv[1])\n"
    "_t1 = time.perf_counter()\n" + _CONTEXT + "event = json.load(open(sys.argv[2]))\n"
    "response = module.handler(event, Context())\n"
    "_t2 = time.perf_counter()\n"
    "status = response.get('statusCode') if isinstance(response, dict) else None\n"
    "cpu = time.process_time()\n"
    "result = {'import': _t1 - _t0, 'total': _t2 - _t0, 'cpu': cpu, 'status': status, 'response': response}\n"
    "print('BENCH_RESULT ' + json.dumps(result, default=str), flush=True)\n"
)

BASELINE = (
    "import time\n"
    "_t0 = time.perf_counter()\n"
    "import json, sys\n"
    "import boto3\n"
    "from botocore.config import Config\n"
    "_t1 = time.perf_counter()\n"
    "spec = json.load(open(sys.argv[1]))\n"
    "config = Config(retries={'max_attempts': 3, 'mode': 'standard'}, connect_timeout=3, read_timeout=10)\n"
    "clients = {name: boto3.session.Session().client(name, config=config) for name in spec['clients']}\n"
    "answer = getattr(clients[spec['client']], spec['operation'])(**spec['params'])\n"
    "_t2 = time.perf_counter()\n"
    "status = answer['ResponseMetadata']['HTTPStatusCode']\n"
    "cpu = time.process_time()\n"
    "result = {'import': _t1 - _t0, 'total': _t2 - _t0, 'cpu': cpu, 'status': status}\n"
    "print('BENCH_RESULT ' + json.dumps(result), flush=True)\n"
)


@dataclass
class Case:
    """One handler: how to make its event, and the single call its baseline makes."""

    name: str
    module: str
    make_event: Callable[[Any], dict[str, Any]]
    make_baseline: Callable[[Any], dict[str, Any]]
    expected_status: int | None = 200
    # Raises if the handler's answer shows it did not do the work (a failed batch, a failed poll).
    check: Callable[[Any], None] = lambda response: None


@dataclass(frozen=True)
class Mode:
    """How the two processes of a pair start: which Python, where, with what environment."""

    prefix: str  # of the metric names: "cold_start" or "cold_start.lambda"
    target: float
    python: str
    ours_cwd: Path
    ours_env: dict[str, str]
    base_cwd: Path
    base_env: dict[str, str]


def current_mode(env: dict[str, str]) -> Mode:
    """This checkout and its virtualenv, with the bytecode an installed package has."""
    compileall.compile_dir(ROOT / "functions", quiet=1)
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return Mode("cold_start", CURRENT_TARGET, sys.executable, ROOT, env, ROOT, env)


def lambda_mode(env: dict[str, str], task: LambdaTask) -> Mode:
    """The read-only asset first on the path (as /var/task), then the runtime's boto3 (/var/runtime)."""
    common = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    common |= {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
    ours = {**common, "PYTHONPATH": f"{task.task}{os.pathsep}{task.runtime}"}
    base = {**common, "PYTHONPATH": str(task.runtime)}
    return Mode("cold_start.lambda", LAMBDA_TARGET, str(task.python), task.task, ours, task.runtime, base)


def _child(python: str, args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one fresh process; 'answer' is from spawning it to its answer, in seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [python, "-c", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    result: dict[str, Any] | None = None
    for line in process.stdout:
        if line.startswith("BENCH_RESULT "):
            answered = time.perf_counter()
            result = {**json.loads(line.removeprefix("BENCH_RESULT ")), "answer": answered - started}
            break
    _, errors = process.communicate(timeout=120)
    if result is None:
        raise RuntimeError(f"child failed ({process.returncode}): {errors[-2000:]}")
    return result


def _instructions(python: str, args: list[str], cwd: Path, env: dict[str, str], directory: Path) -> int:
    """The instructions one fresh process executes, counted by callgrind (start-up included)."""
    out = directory / f"callgrind.{uuid.uuid4().hex}"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, "-c", *args]
    # A fixed hash seed: set and dict layouts, hence the work, are the same in every run.
    done = subprocess.run(
        command, cwd=cwd, env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True
    )
    if "BENCH_RESULT " not in done.stdout:
        raise RuntimeError(f"child failed under callgrind ({done.returncode}): {done.stderr[-2000:]}")
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def _write(directory: Path, document: dict[str, Any]) -> str:
    path = directory / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(document))
    return str(path)


# -- a loopback provider: Klavi's empty queue and a result file -------------------------------------

ARTIFACT = bytes(range(256)) * 1024  # 256 KiB


class _Provider(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        if self.path.startswith("/artifact.bin"):
            self._send(200, ARTIFACT, "application/octet-stream")
        else:  # Klavi's pull: the queue is empty
            self._send(
                201, json.dumps({"statusCode": 201, "message": "No new event"}).encode(), "application/json"
            )

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def loopback_provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def bench_config(directory: Path, provider_url: str) -> Path:
    """config/local.json with its Klavi pull connection pointed at the loopback provider."""
    document = json.loads(CONFIG.read_text())
    for connection in document["connections"]:
        if connection.get("provider") == "klavi" and "poll" in connection:
            connection["poll"]["baseUrl"] = provider_url
    path = directory / "config.json"
    path.write_text(json.dumps(document))
    return path


# -- the cases -------------------------------------------------------------------------------------


@dataclass
class Bench:
    """What the cases share: the running stack, the loopback provider, scratch space."""

    stack: Any
    provider_url: str
    config: Path
    seeded: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return str(self.stack.resources["table"])

    def post_webhook(self, connection: str, provider: str, body: bytes) -> str:
        from eventhub.local.send import secret_for
        from eventhub.local.signing import sign
        from functions.models.config import load_config

        _, secret = secret_for(load_config(self.config), connection)
        request = urllib.request.Request(
            f"{self.stack.url}/webhooks/{connection}",
            data=body,
            headers=sign(provider, secret, body),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["id"])


def _extend_body() -> bytes:
    sample = json.loads((ROOT / "events/webhooks/extend/classify_run.processed.json").read_text())
    sample["eventId"] = f"evt_cold_{uuid.uuid4().hex}"
    return json.dumps(sample).encode()


def _proxy(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
    from eventhub.local.proxy_events import proxy_event
    from eventhub.local.routes import ROUTES, find_route

    found = find_route(ROUTES, path)
    assert found is not None, path
    route, params = found
    return proxy_event(
        method=method,
        raw_path=path,
        headers=list(headers.items()),
        body=body,
        route=route,
        path_parameters=params,
    )


def _intake_event(bench: Bench) -> dict[str, Any]:
    from eventhub.local.signing import sign

    body = _extend_body()
    return _proxy("POST", "/webhooks/extend-dev", sign("extend", "wss_dev_extend_signing_secret", body), body)


def _intake_baseline(bench: Bench) -> dict[str, Any]:
    """The item the intake writes for a new Extend event, written the same way."""
    from datetime import UTC, datetime

    from functions.jsonutil import dumps
    from functions.models.config import load_config
    from functions.models.items import to_item
    from functions.providers import WEBHOOK_SCHEMES
    from functions.providers.base import Delivery

    body = _extend_body()
    connection = load_config(bench.config).connection("extend-dev")
    assert connection is not None
    new = WEBHOOK_SCHEMES[connection.provider].map(
        json.loads(body), Delivery(headers={}, body=body, received_at=datetime.now(UTC)), connection
    )
    item = to_item(new.event, payload_text=dumps(new.event.payload), payload_ref=None)
    condition = {
        "ConditionExpression": "attribute_not_exists(#id)",
        "ExpressionAttributeNames": {"#id": "id"},
    }
    return {
        "clients": ["dynamodb"],  # no artifact, small payload: the intake never builds its S3 client
        "client": "dynamodb",
        "operation": "put_item",
        "params": {"TableName": bench.table, "Item": item, **condition},
    }


def _seeded_event_id(bench: Bench) -> str:
    if "query" not in bench.seeded:
        bench.seeded["query"] = bench.post_webhook("extend-dev", "extend", _extend_body())
    return bench.seeded["query"]


def _query_event(bench: Bench) -> dict[str, Any]:
    return _proxy("GET", f"/api/v1/events/{_seeded_event_id(bench)}", {"X-API-Key": "dev-key-acme-000000"})


def _query_baseline(bench: Bench) -> dict[str, Any]:
    return {
        "clients": ["dynamodb"],  # S3 only for payloads kept there and artifact downloads
        "client": "dynamodb",
        "operation": "get_item",
        "params": {"TableName": bench.table, "Key": {"id": {"S": _seeded_event_id(bench)}}},
    }


def _poller_event(bench: Bench) -> dict[str, Any]:
    return {"connectionId": "klavi-pull"}


def _poller_baseline(bench: Bench) -> dict[str, Any]:
    """The poller's clients (table, spill queue) and one write: its run lease."""
    return {
        "clients": ["dynamodb", "sqs"],
        "client": "dynamodb",
        "operation": "put_item",
        "params": {"TableName": bench.table, "Item": {"id": {"S": f"bench-lease-{uuid.uuid4().hex}"}}},
    }


def _stream_event(bench: Bench) -> dict[str, Any]:
    """A new Klavi event with its result file on the loopback provider, as its stream record."""
    document = json.loads((ROOT / "events/webhooks/klavi/analysis_finished.json").read_text())
    document["eventId"] = f"cold-{uuid.uuid4().hex}"
    document["payload"]["presignedUrl"] = f"{bench.provider_url}/artifact.bin?X-Amz-Signature=00ff"
    event_id = bench.post_webhook("klavi-push", "klavi", json.dumps(document).encode())
    item = bench.stack.client("dynamodb").get_item(TableName=bench.table, Key={"id": {"S": event_id}})["Item"]
    record = {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": time.time(),
            "Keys": {"id": {"S": event_id}},
            "NewImage": item,
            "SequenceNumber": str(time.time_ns()),
            "SizeBytes": len(json.dumps(item)),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{bench.table}/stream/bench",
    }
    return {"Records": [record]}


def _aggregator_event(bench: Bench) -> dict[str, Any]:
    """The same stream record, as the aggregator's mapping delivers it: with its tumbling window's
    fields (the shard id, the window, an empty state)."""
    from eventhub.local.streams import local_subscriptions
    from eventhub.local.streams.delivery import window_fields

    event = _stream_event(bench)
    (record,) = event["Records"]
    aggregator = next(s for s in local_subscriptions() if s.name == "aggregator")
    return {**event, **window_fields(aggregator, record["eventSourceARN"], "shardId-bench")}


def _copier_baseline(bench: Bench) -> dict[str, Any]:
    """The copier's clients and one write of the same file into the bucket."""
    return {
        "clients": ["dynamodb", "s3"],
        "client": "s3",
        "operation": "put_object",
        "params": {
            "Bucket": bench.stack.resources["bucket"],
            "Key": f"bench/{uuid.uuid4().hex}",
            "Body": "x" * len(ARTIFACT),
        },
    }


def _aggregator_baseline(bench: Bench) -> dict[str, Any]:
    """The aggregator's client and one counter update."""
    return {
        "clients": ["dynamodb"],
        "client": "dynamodb",
        "operation": "update_item",
        "params": {
            "TableName": bench.table,
            "Key": {"id": {"S": f"bench-counter-{uuid.uuid4().hex}"}},
            "UpdateExpression": "ADD #n :one",
            "ExpressionAttributeNames": {"#n": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
    }


def _publisher_baseline(bench: Bench) -> dict[str, Any]:
    """The publisher's client and one put_events of the entry it makes for the same record."""
    from functions.logic.publishing.entries import entries_of

    (record,) = _stream_event(bench)["Records"]
    bus = bench.stack.resources["event_bus"]
    entries = [
        {"EventBusName": bus, "Source": e.source, "DetailType": e.detail_type, "Detail": e.detail}
        for e in entries_of(record, bench.stack.resources["bucket"])
    ]
    return {
        "clients": ["events"],
        "client": "events",
        "operation": "put_events",
        "params": {"Entries": entries},
    }


def _no_batch_failures(response: Any) -> None:
    if not isinstance(response, dict) or response.get("batchItemFailures"):
        raise RuntimeError(f"the batch failed: {str(response)[:300]}")


def _poll_ran(response: Any) -> None:
    if not isinstance(response, dict) or response.get("error") is not None:
        raise RuntimeError(f"the poll failed: {str(response)[:300]}")


CASES = [
    Case("intake", "functions.handlers.intake", _intake_event, _intake_baseline),
    Case("query", "functions.handlers.query", _query_event, _query_baseline),
    Case("poller", "functions.handlers.poller", _poller_event, _poller_baseline, None, _poll_ran),
    Case("copier", "functions.handlers.copier", _stream_event, _copier_baseline, None, _no_batch_failures),
    Case(
        "aggregator",
        "functions.handlers.aggregator",
        _aggregator_event,
        _aggregator_baseline,
        None,
        _no_batch_failures,
    ),
    Case(
        "publisher",
        "functions.handlers.publisher",
        _stream_event,
        _publisher_baseline,
        None,
        _no_batch_failures,
    ),
]


def _available(case: Case) -> bool:
    try:
        return importlib.util.find_spec(case.module) is not None
    except ModuleNotFoundError:
        return False


def _metric(name: str, ours: list[float], base: list[float], target: float, unit: str = "ms") -> Metric:
    ratio = median_of(ours) / median_of(base)
    return Metric(
        name=name,
        ours=round(median_of(ours), 1),
        unit=unit,
        baseline=round(median_of(base), 1),
        target=f"<= {target}x",
        higher_is_better=False,
        met=ratio <= target,
    )


def measure(bench: Bench, case: Case, rounds: int, modes: list[Mode], directory: Path) -> list[Metric]:
    samples: dict[str, dict[str, list[float]]] = {
        mode.prefix: {k: [] for k in ("ours", "base", "ours_in", "base_in", "ours_cpu", "base_cpu", "import")}
        for mode in modes
    }
    # One warm-up round first, so that every process reads its files from the page cache, not the
    # disk. The modes take turns at going first.
    for round_ in range(rounds + 1):
        for mode in modes if round_ % 2 else modes[::-1]:
            event = _write(directory, case.make_event(bench))
            mine = _child(mode.python, [OURS, case.module, event], mode.ours_cwd, mode.ours_env)
            baseline = _write(directory, case.make_baseline(bench))
            theirs = _child(mode.python, [BASELINE, baseline], mode.base_cwd, mode.base_env)
            if case.expected_status is not None and mine["status"] != case.expected_status:
                raise RuntimeError(f"{case.name} ({mode.prefix}): handler answered {mine['status']}")
            case.check(mine["response"])
            if round_ == 0:
                continue
            found = samples[mode.prefix]
            for key, child in (("ours", mine), ("base", theirs)):
                found[key].append(child["answer"] * 1000)
                found[f"{key}_in"].append(child["total"] * 1000)
                found[f"{key}_cpu"].append(child["cpu"] * 1000)
            found["import"].append(mine["import"] * 1000)
    metrics = []
    for mode in modes:
        found, name = samples[mode.prefix], f"{mode.prefix}.{case.name}"
        metrics += [
            _metric(name, found["ours"], found["base"], mode.target),
            _metric(f"{name}.in_process", found["ours_in"], found["base_in"], mode.target),
            _metric(f"{name}.cpu", found["ours_cpu"], found["base_cpu"], mode.target, unit="ms cpu"),
            Metric(name=f"{name}.import", ours=round(median_of(found["import"]), 1), unit="ms"),
        ]
    return metrics


def measure_instructions(bench: Bench, case: Case, modes: list[Mode], directory: Path) -> list[Metric]:
    """One pair per mode under callgrind: user-space instructions, which the page cache does not change."""
    metrics = []
    for mode in modes:
        mine = _instructions(
            mode.python, [OURS, case.module, _write(directory, case.make_event(bench))],
            mode.ours_cwd, mode.ours_env, directory,
        )  # fmt: skip
        theirs = _instructions(
            mode.python, [BASELINE, _write(directory, case.make_baseline(bench))],
            mode.base_cwd, mode.base_env, directory,
        )  # fmt: skip
        metrics.append(
            Metric(
                name=f"{mode.prefix}.{case.name}.instructions",
                ours=round(mine / 1e6, 1),
                unit="M instr",
                baseline=round(theirs / 1e6, 1),
                target=f"<= {mode.target}x",
                higher_is_better=False,
                met=mine / theirs <= mode.target,
            )
        )
    return metrics


def run(quick: bool, *, instructions: bool = False, only: frozenset[str] = frozenset()) -> list[Metric]:
    from eventhub.local.stack import LocalStack

    rounds = 3 if quick else 7
    metrics: list[Metric] = []
    with tempfile.TemporaryDirectory() as scratch, loopback_provider() as provider_url:
        directory = Path(scratch)
        config = bench_config(directory, provider_url)
        with lambda_task(directory) as task, LocalStack(config, services=[]) as stack:
            print(f"[bench] cold_start: Lambda mode: {task.describe()}", file=sys.stderr)
            bench = Bench(stack, provider_url, config)
            # The functions' environment as the stack sets it (logging at its default level).
            env = {**os.environ, **stack.environment, "POWERTOOLS_SERVICE_NAME": "eventhub"}
            env.pop("POWERTOOLS_LOG_LEVEL", None)
            modes = [lambda_mode(env, task), current_mode(env)]
            for case in [c for c in CASES if _available(c) and (not only or c.name in only)]:
                try:
                    if instructions:
                        metrics.extend(measure_instructions(bench, case, modes, directory))
                    else:
                        metrics.extend(measure(bench, case, rounds, modes, directory))
                except Exception as error:  # one handler that cannot run must not hide the others
                    print(f"[bench] cold_start.{case.name}: not measured: {error}", file=sys.stderr)
    return metrics


if __name__ == "__main__":
    import argparse

    from bench.__main__ import print_table

    parser = argparse.ArgumentParser(prog="python -m bench.bench_cold_start")
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    parser.add_argument("--instructions", action="store_true", help="instructions under callgrind")
    parser.add_argument(
        "--only", default="", help="comma-separated functions: " + ", ".join(c.name for c in CASES)
    )
    options = parser.parse_args()
    print_table(
        run(
            options.quick,
            instructions=options.instructions,
            only=frozenset(filter(None, options.only.split(","))),
        )
    )
