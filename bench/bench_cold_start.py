"""Cold start: a fresh Python process imports a handler and serves one sample event against
moto server, next to a fresh process that imports boto3, creates the same clients and makes
the same single call (the intake's conditional put, the query's get). Rounds alternate the
two, so both see the same machine; the figures are medians. Target: ours <= 1.5x baseline.

``cold_start.<handler>`` is measured from spawning the process to its answer (interpreter
start-up included, as in a Lambda cold start); ``.in_process`` from the child's first
statement to the answer (imports, client creation, the call: the part the code decides).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Metric, median_of

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "local.json"
TARGET = 1.5

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
    "print('BENCH_RESULT ' + json.dumps({'import': _t1 - _t0, 'total': _t2 - _t0, 'status': status}))\n"
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
    "result = getattr(clients[spec['client']], spec['operation'])(**spec['params'])\n"
    "_t2 = time.perf_counter()\n"
    "status = result['ResponseMetadata']['HTTPStatusCode']\n"
    "print('BENCH_RESULT ' + json.dumps({'import': _t1 - _t0, 'total': _t2 - _t0, 'status': status}))\n"
)


@dataclass
class Case:
    """One handler: how to make its event, and the single call its baseline makes."""

    name: str
    module: str
    make_event: Callable[[Any], dict[str, Any]]
    make_baseline: Callable[[Any], dict[str, Any]]
    expected_status: int | None = 200


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one fresh process; 'answer' is from spawning it to its answer, in seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", *args],
        cwd=ROOT,
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


def _write(directory: Path, document: dict[str, Any]) -> str:
    path = directory / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(document))
    return str(path)


# -- the cases -------------------------------------------------------------------------------------


def _intake_body() -> bytes:
    sample = json.loads((ROOT / "events/webhooks/extend/classify_run.processed.json").read_text())
    sample["eventId"] = f"evt_cold_{uuid.uuid4().hex}"
    return json.dumps(sample).encode()


def _intake_event(stack: Any) -> dict[str, Any]:
    from eventhub.local.gateway import ROUTES, find_route, proxy_event
    from eventhub.local.signing import sign

    body = _intake_body()
    headers = sign("extend", "wss_dev_extend_signing_secret", body)
    route, params = find_route(ROUTES, "/webhooks/extend-dev")  # type: ignore[misc]
    return proxy_event(
        method="POST",
        raw_path="/webhooks/extend-dev",
        headers=list(headers.items()),
        body=body,
        route=route,
        path_parameters=params,
    )


def _intake_baseline(stack: Any) -> dict[str, Any]:
    """The item the intake writes for a new Extend event, written the same way."""
    from datetime import UTC, datetime

    from functions.models.config import load_config
    from functions.models.items import to_item
    from functions.providers import WEBHOOK_SCHEMES
    from functions.providers.base import Delivery

    body = _intake_body()
    connection = load_config(CONFIG).connection("extend-dev")
    assert connection is not None
    new = WEBHOOK_SCHEMES[connection.provider].map(
        json.loads(body), Delivery(headers={}, body=body, received_at=datetime.now(UTC)), connection
    )
    item = to_item(new.event, payload_text=json.dumps(new.event.payload), payload_ref=None)
    return {
        "clients": ["dynamodb", "s3"],
        "client": "dynamodb",
        "operation": "put_item",
        "params": {
            "TableName": stack.resources["table"],
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": {"#id": "id"},
        },
    }


def _seeded_event_id(stack: Any) -> str:
    if "bench_event_id" not in stack.resources:
        import urllib.request

        from eventhub.local.signing import sign

        body = _intake_body()
        request = urllib.request.Request(
            f"{stack.url}/webhooks/extend-dev",
            data=body,
            headers=sign("extend", "wss_dev_extend_signing_secret", body),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            stack.resources["bench_event_id"] = json.loads(response.read())["id"]
    return stack.resources["bench_event_id"]


def _query_event(stack: Any) -> dict[str, Any]:
    from eventhub.local.gateway import ROUTES, find_route, proxy_event

    path = f"/api/v1/events/{_seeded_event_id(stack)}"
    route, params = find_route(ROUTES, path)  # type: ignore[misc]
    return proxy_event(
        method="GET",
        raw_path=path,
        headers=[("X-API-Key", "dev-key-acme-000000")],
        body=b"",
        route=route,
        path_parameters=params,
    )


def _query_baseline(stack: Any) -> dict[str, Any]:
    return {
        "clients": ["dynamodb", "s3"],
        "client": "dynamodb",
        "operation": "get_item",
        "params": {"TableName": stack.resources["table"], "Key": {"id": {"S": _seeded_event_id(stack)}}},
    }


CASES = [
    Case("intake", "functions.handlers.intake", _intake_event, _intake_baseline),
    Case("query", "functions.handlers.query", _query_event, _query_baseline),
]


def _available(case: Case) -> bool:
    try:
        return importlib.util.find_spec(case.module) is not None
    except ModuleNotFoundError:
        return False


def run(quick: bool) -> list[Metric]:
    from eventhub.local.stack import LocalStack

    rounds = 3 if quick else 9
    metrics: list[Metric] = []
    with LocalStack(CONFIG, services=[]) as stack, tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        env = {**os.environ, **stack.environment, "POWERTOOLS_LOG_LEVEL": "WARNING"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for case in [c for c in CASES if _available(c)]:
            ours: list[float] = []
            base: list[float] = []
            ours_inside: list[float] = []
            base_inside: list[float] = []
            imports: list[float] = []
            # One warm-up pair so that both read their files from the page cache, not the disk.
            for round_ in range(rounds + 1):
                mine = _child([OURS, case.module, _write(directory, case.make_event(stack))], env)
                theirs = _child([BASELINE, _write(directory, case.make_baseline(stack))], env)
                if case.expected_status is not None and mine["status"] != case.expected_status:
                    raise RuntimeError(f"{case.name}: handler answered {mine['status']}")
                if round_ == 0:
                    continue
                ours.append(mine["answer"] * 1000)
                base.append(theirs["answer"] * 1000)
                ours_inside.append(mine["total"] * 1000)
                base_inside.append(theirs["total"] * 1000)
                imports.append(mine["import"] * 1000)
            ratio = median_of(ours) / median_of(base)
            inside_ratio = median_of(ours_inside) / median_of(base_inside)
            metrics.append(
                Metric(
                    name=f"cold_start.{case.name}",
                    ours=round(median_of(ours), 1),
                    unit="ms",
                    baseline=round(median_of(base), 1),
                    target=f"<= {TARGET}x",
                    higher_is_better=False,
                    met=ratio <= TARGET,
                )
            )
            metrics.append(
                Metric(
                    name=f"cold_start.{case.name}.in_process",
                    ours=round(median_of(ours_inside), 1),
                    unit="ms",
                    baseline=round(median_of(base_inside), 1),
                    target=f"<= {TARGET}x",
                    higher_is_better=False,
                    met=inside_ratio <= TARGET,
                )
            )
            metrics.append(
                Metric(name=f"cold_start.{case.name}.import", ours=round(median_of(imports), 1), unit="ms")
            )
    return metrics


if __name__ == "__main__":
    for metric in run("--quick" in sys.argv):
        print(metric.as_dict())
