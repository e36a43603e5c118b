"""Run every benchmark, print one table, write bench/results.json.

python -m bench            # full run (about 10 minutes on 2 cores)
python -m bench --quick    # smoke run with small sizes
python -m bench --only intake,polling
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from bench.common import Metric

# module name -> what it measures (each module has run(quick: bool) -> list[Metric])
SUITES = {
    "cold_start": "cold start of each handler vs boto3 baseline",
    "intake": "webhooks/s through the local gateway vs the same writes made bare",
    "polling": "VAI sync vs fetch only; Klavi drain",
    "copier": "1 GiB artifact copy: RSS and throughput vs upload_fileobj",
    "query": "items read per request and p50 latency per route",
    "load": "10,000 signed webhooks with injected store faults",
    "forwarding": "entries/s through publish() vs bare put_events; billed events per million",
    "cost": "$ per million stored events, every billable unit metered on a realistic mix",
}

RESULTS = Path(__file__).resolve().parent / "results.json"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def print_table(metrics: list[Metric]) -> None:
    header = ("metric", "ours", "baseline", "ratio", "target", "met")
    rows = [
        (
            f"{m.name} [{m.unit}]",
            _fmt(m.ours),
            _fmt(m.baseline),
            _fmt(m.ratio),
            m.target,
            "" if m.met is None else ("yes" if m.met else "NO"),
        )
        for m in metrics
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default="", help="comma-separated suites: " + ", ".join(SUITES))
    args = parser.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s] or list(SUITES)
    metrics: list[Metric] = []
    failed: list[str] = []
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.bench_{name}")
        except ModuleNotFoundError as error:
            if error.name != f"bench.bench_{name}":
                raise
            print(f"[bench] {name}: not available", file=sys.stderr)
            continue
        started = time.perf_counter()
        print(f"[bench] {name}: {SUITES.get(name, '')} ...", file=sys.stderr, flush=True)
        try:
            found = module.run(args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        metrics.extend(found)
        print(f"[bench] {name}: done in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    print_table(metrics)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.update({m.name: m.ours for m in metrics})
    previous.update({f"{m.name}.baseline": m.baseline for m in metrics if m.baseline is not None})
    RESULTS.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    if failed:
        print(f"[bench] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
