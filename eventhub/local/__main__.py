"""``python -m eventhub.local --config config/local.json --port 3000`` (what ``make run`` runs).

Prints one line, ``ready on http://127.0.0.1:PORT``, once ``GET /health`` answers 200, and
stops cleanly on Ctrl-C (SIGINT) or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType


def _default_port() -> int:
    return int(os.environ.get("PORT") or 3000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m eventhub.local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("CONFIG") or "config/local.json",
        help="default: $CONFIG or config/local.json",
    )
    parser.add_argument("--port", type=int, default=_default_port(), help="default: $PORT or 3000")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument(
        "--store-fault-rate",
        type=float,
        default=float(os.environ.get("EVENTHUB_STORE_FAULT_RATE") or 0),
        help="fraction of the handlers' DynamoDB writes that fail as throttled (default 0: off)",
    )
    parser.add_argument("--fault-seed", type=int, default=None, help="seed for the injected faults")
    parser.add_argument(
        "--fault-stats", default=None, help="on exit, write the injected faults per operation to this file"
    )
    parser.add_argument(
        "--aws-endpoint-url",
        default=None,
        help="use this AWS endpoint (e.g. a separate moto server) instead of an embedded one",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log line per request")
    args = parser.parse_args(argv)
    if not 0 <= args.store_fault_rate <= 1:
        parser.error("--store-fault-rate must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from eventhub.local.stack import LocalStack

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    stack = LocalStack(
        args.config,
        port=args.port,
        host=args.host,
        store_fault_rate=args.store_fault_rate,
        fault_seed=args.fault_seed,
        access_log=not args.quiet,
        aws_endpoint_url=args.aws_endpoint_url,
    )
    try:
        stack.start()
    except (OSError, ValueError) as error:
        print(f"eventhub.local: cannot start: {error}", file=sys.stderr)
        return 1
    try:
        if args.store_fault_rate:
            rate = f"{args.store_fault_rate:.1%}"
            print(f"[faults] {rate} of DynamoDB writes fail as throttled", file=sys.stderr)
        print(f"ready on {stack.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("stopping ...", file=sys.stderr, flush=True)
        if args.fault_stats and stack.faults is not None:
            Path(args.fault_stats).write_text(json.dumps(stack.faults.stats()))
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
