"""``python -m eventhub.demo``: Klavi, VAI and Exa fakes on the ports config/local.json polls.

    python -m eventhub.demo                 # 8181 Klavi, 8182 VAI, 8183 Exa; Ctrl-C stops
    python -m eventhub.demo --events 500    # how many events each starts with

Credentials and ports are the ones of the poll connections in --config (config/local.json:
8181-8183); --klavi-port, --vai-port and --exa-port override the ports. Every 10 s each fake
gains a few events (Klavi queues new ones; VAI and Exa get new events "now"), so `make run` has
something to poll. `make demo` (python -m eventhub.demo.run) starts these and the local stack.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

from eventhub.demo.providers import DEFAULT_KEYS, DEFAULT_PORTS, PollTarget, SimulatedProviders, poll_targets

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eventhub.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "local.json")
    parser.add_argument("--klavi-port", type=int, default=None, help="default: klavi-pull's port (8181)")
    parser.add_argument("--vai-port", type=int, default=None, help="default: vai-pull's port (8182)")
    parser.add_argument("--exa-port", type=int, default=None, help="default: exa-dev's port (8183)")
    parser.add_argument("--events", type=int, default=50, help="events each fake starts with")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between new events")
    args = parser.parse_args(argv)
    targets = poll_targets(args.config)
    for provider, port in (("klavi", args.klavi_port), ("vai", args.vai_port), ("exa", args.exa_port)):
        given = targets.get(provider) or PollTarget(DEFAULT_KEYS[provider], DEFAULT_PORTS[provider])
        targets[provider] = given if port is None else replace(given, port=port)
    providers = SimulatedProviders(targets, events=args.events, every=args.every)
    try:
        providers.start()
    except OSError as error:
        print(f"eventhub.demo: cannot start the fakes: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        klavi, vai, exa = providers.klavi.url, providers.vai.url, providers.exa.url
        print(f"klavi on {klavi}, vai on {vai}, exa on {exa}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        providers.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
