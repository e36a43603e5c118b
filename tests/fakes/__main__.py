"""``python -m tests.fakes``: Klavi, VAI and Exa fakes on the ports config/local.json polls.

    python -m tests.fakes                 # 8181 Klavi, 8182 VAI, 8183 Exa; Ctrl-C stops
    python -m tests.fakes --events 500    # how many events each starts with

Credentials are the ones in config/local.json. Every 10 s each fake gains a few events (Klavi
queues new ones; VAI and Exa get new events "now"), so `make run` has something to poll.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

from tests.fakes import ExaFake, KlaviFake, VaiFake

ROOT = Path(__file__).resolve().parents[2]


def _credentials(config_path: Path) -> dict[str, str]:
    """Provider -> the poll credential its local connection uses."""
    found: dict[str, str] = {}
    for connection in json.loads(config_path.read_text()).get("connections", []):
        poll = connection.get("poll") or {}
        value = poll.get("secretKey") or poll.get("apiKey")
        if isinstance(value, str):
            found.setdefault(connection["provider"], value)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "local.json")
    parser.add_argument("--klavi-port", type=int, default=8181)
    parser.add_argument("--vai-port", type=int, default=8182)
    parser.add_argument("--exa-port", type=int, default=8183)
    parser.add_argument("--events", type=int, default=50, help="events each fake starts with")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between new events")
    args = parser.parse_args(argv)
    keys = _credentials(args.config)
    klavi = KlaviFake(keys.get("klavi", "klavi-fake-secret-key"), port=args.klavi_port).start()
    vai = VaiFake(keys.get("vai", "vai-fake-api-key"), port=args.vai_port).start()
    exa = ExaFake(keys.get("exa", "exa-fake-api-key"), port=args.exa_port).start()
    assert isinstance(klavi, KlaviFake) and isinstance(vai, VaiFake) and isinstance(exa, ExaFake)
    klavi.enqueue(args.events)
    vai.add_events(args.events)
    exa.add_events(args.events)
    print(f"klavi on {klavi.url}, vai on {vai.url}, exa on {exa.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(args.every):
        now = datetime.now(UTC)
        klavi.enqueue(2)
        vai.insert(vai.make_event(now))
        exa.insert(exa.make_event(now))
    for fake in (klavi, vai, exa):
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
