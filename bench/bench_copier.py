"""Artifact copier: a large file from a local HTTP server into moto server's S3.

Each copy runs in a fresh process, so its peak RSS growth (``VmHWM`` after the copy minus
the RSS just before it) is the copy's own. Two ways, side by side in one run:

- ours: ``functions.logic.copying.copy_pending_artifacts`` — SSRF check, GET streamed into an
  8 MiB-part multipart upload, sha256, the event updated;
- baseline: boto3 ``upload_fileobj`` of the raw HTTP stream (urllib3, ``preload_content=False``).

Sizes: 256 MiB (three rounds) and 1 GiB (two rounds), alternating which way goes first
(``--quick``: 32 MiB and 128 MiB, one round). Targets: RSS growth <= 100 MiB and independent
of size; throughput >= 0.8x the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.common import Metric, moto_server

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
RSS_TARGET_MIB = 100
THROUGHPUT_TARGET = 0.8
ROUNDS = {"256MiB": 3, "1GiB": 2}  # the machine is shared: keep each way's best of a few
BLOCK = (bytes(range(256)) * 4096)[: 1 * MiB]  # 1 MiB served over and over
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# -- the file server (in the parent: not measured) ------------------------------------------------


class _FileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        size = int(parse_qs(urlsplit(self.path).query)["size"][0])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        while sent < size:
            chunk = BLOCK[: min(len(BLOCK), size - sent)]
            self.wfile.write(chunk)
            sent += len(chunk)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


# -- one copy, in a child process ------------------------------------------------------------------


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _peak_rss() -> int:
    """This process image's peak RSS (VmHWM). Not ``ru_maxrss``: Linux carries that across
    exec, so a child spawned by a large parent would report the parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(args: argparse.Namespace) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=args.endpoint)
    if args.mode == "ours":
        from functions.adapters.artifact_source import HttpArtifactSource
        from functions.adapters.blob_store import BlobStore
        from functions.adapters.dns import resolve_host
        from functions.adapters.event_store import EventStore
        from functions.logic.copying.deps import CopyDeps
        from functions.logic.copying.run import copy_pending_artifacts
        from functions.models.config import HubConfig

        blobs = BlobStore(args.bucket, s3)
        deps = CopyDeps(
            store=EventStore(args.table, boto3.client("dynamodb", endpoint_url=args.endpoint), blobs),
            blobs=blobs,
            source=HttpArtifactSource(),
            config=HubConfig.model_validate_json(args.config),
            resolve=resolve_host,
        )
        before = _rss()
        started = time.perf_counter()
        report = copy_pending_artifacts(args.event_id, deps)
        seconds = time.perf_counter() - started
        if [a.status.value for a in report.artifacts] != ["copied"]:
            raise SystemExit(f"copy did not succeed: {report.model_dump_json()}")
    else:
        import urllib3

        http = urllib3.PoolManager()
        before = _rss()
        started = time.perf_counter()
        response = http.request("GET", args.url, preload_content=False)
        s3.upload_fileobj(response, args.bucket, f"baseline/{args.size}")
        response.release_conn()
        seconds = time.perf_counter() - started
    peak = _peak_rss()
    print(json.dumps({"seconds": seconds, "growth": max(0, peak - before)}))


# -- the parent ------------------------------------------------------------------------------------


class _Setup:
    def __init__(self) -> None:
        self._moto = moto_server({**os.environ, **CREDENTIALS})
        self.endpoint = self._moto.__enter__()
        self.files = ThreadingHTTPServer(("127.0.0.1", 0), _FileHandler)
        threading.Thread(target=self.files.serve_forever, daemon=True).start()
        os.environ.update(CREDENTIALS)
        import boto3

        from eventhub.local.resources import ResourceNames, create_all

        self.clients = {n: boto3.client(n, endpoint_url=self.endpoint) for n in ("dynamodb", "s3", "sqs")}
        self.names = create_all(self.clients, ResourceNames())

    def file_url(self, size: int) -> str:
        port = self.files.server_address[1]
        return f"http://127.0.0.1:{port}/artifact.bin?size={size}&X-Amz-Signature=bench"

    def close(self) -> None:
        self.files.shutdown()
        self._moto.__exit__(None, None, None)

    def drop_objects(self) -> None:
        s3 = self.clients["s3"]
        for item in s3.list_objects_v2(Bucket=self.names["bucket"]).get("Contents", []):
            s3.delete_object(Bucket=self.names["bucket"], Key=item["Key"])


def _config_json() -> str:
    from functions.models.config import Connection, HubConfig, Provider

    klavi = Connection(
        id="bench-klavi", provider=Provider.KLAVI, tenant_id="bench", secrets=["unused-secret"]
    )
    return HubConfig(
        connections=[klavi], allow_loopback_artifacts=True, max_artifact_bytes=8 * 1024 * MiB
    ).to_json()


def _put_event(setup: _Setup, size: int, n: int) -> str:
    from datetime import UTC, datetime

    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_store import EventStore
    from functions.models.config import HubConfig
    from functions.models.event import Channel
    from functions.providers import klavi

    config = HubConfig.model_validate_json(_config_json())
    envelope = {
        "eventId": f"bench-{size}-{n}-{time.time_ns()}",
        "eventType": "analysis",
        "eventName": "analysis_finished",
        "payload": {"batchId": f"batch-{n}", "presignedUrl": setup.file_url(size)},
    }
    new = klavi.map_event(envelope, config.connections[0], datetime.now(UTC), Channel.POLL)
    blobs = BlobStore(setup.names["bucket"], setup.clients["s3"])
    EventStore(setup.names["table"], setup.clients["dynamodb"], blobs).put(new)
    return new.event.id


def _run_child(setup: _Setup, mode: str, size: int, n: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "bench.bench_copier",
        "--child",
        mode,
        "--endpoint",
        setup.endpoint,
        "--bucket",
        setup.names["bucket"],
        "--table",
        setup.names["table"],
        "--size",
        str(size),
        "--url",
        setup.file_url(size),
        "--config",
        _config_json(),
    ]
    if mode == "ours":
        command += ["--event-id", _put_event(setup, size, n)]
    env = {**os.environ, **CREDENTIALS, "POWERTOOLS_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} copy of {size} bytes failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    setup.drop_objects()  # keep moto's memory to one copy at a time
    return result


def run(quick: bool) -> list[Metric]:
    sizes = {"32MiB": 32 * MiB, "128MiB": 128 * MiB} if quick else {"256MiB": 256 * MiB, "1GiB": 1024 * MiB}
    setup = _Setup()
    results: dict[tuple[str, str], dict[str, float]] = {}
    try:
        for n, (label, size) in enumerate(sizes.items()):
            # Alternate, so that neither way always runs on a warmer (or busier) machine; keep
            # each way's fastest time and its largest RSS growth.
            rounds = 1 if quick else ROUNDS[label]
            for round_ in range(rounds):
                for mode in ("baseline", "ours") if round_ % 2 == 0 else ("ours", "baseline"):
                    found = _run_child(setup, mode, size, n * 10 + round_)
                    rate = size / MiB / found["seconds"]
                    print(
                        f"[bench] copier: {mode} {label} round {round_ + 1}: {rate:.1f} MiB/s, "
                        f"RSS +{found['growth'] / MiB:.1f} MiB",
                        file=sys.stderr,
                        flush=True,
                    )
                    best = results.setdefault((mode, label), found)
                    best["seconds"] = min(best["seconds"], found["seconds"])
                    best["growth"] = max(best["growth"], found["growth"])
    finally:
        setup.close()
    metrics: list[Metric] = []
    small, large = list(sizes)
    growth = {label: results[("ours", label)]["growth"] / MiB for label in sizes}
    for label, size in sizes.items():
        ours, base = results[("ours", label)], results[("baseline", label)]
        limit_met = growth[label] <= RSS_TARGET_MIB
        if label == large:  # independent of size: within one part (8 MiB) of the smaller copy
            limit_met = limit_met and growth[large] <= growth[small] + 8
        metrics.append(
            Metric(
                name=f"copier.rss_growth_{label}",
                ours=round(growth[label], 1),
                unit="MiB",
                baseline=round(base["growth"] / MiB, 1),
                target=f"<= {RSS_TARGET_MIB}" + (f", ~ {small}" if label == large else ""),
                higher_is_better=False,
                met=limit_met,
            )
        )
        ours_rate, base_rate = size / MiB / ours["seconds"], size / MiB / base["seconds"]
        metrics.append(
            Metric(
                name=f"copier.throughput_{label}",
                ours=round(ours_rate, 1),
                unit="MiB/s",
                baseline=round(base_rate, 1),
                target=f">= {THROUGHPUT_TARGET}x",
                met=ours_rate >= THROUGHPUT_TARGET * base_rate,
            )
        )
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=("ours", "baseline"))
    parser.add_argument("--endpoint")
    parser.add_argument("--bucket")
    parser.add_argument("--table")
    parser.add_argument("--size", type=int)
    parser.add_argument("--url")
    parser.add_argument("--config")
    parser.add_argument("--event-id")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        args.mode = args.child
        _child(args)
        return 0
    from bench.__main__ import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
