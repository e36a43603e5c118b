"""``make demo``: the local stack with simulated providers, and within a minute something to see.

    python -m eventhub.demo.run --config config/local.json --port 3000     # what `make demo` runs

One process, no children: the Klavi, VAI and Exa fakes on the ports the configuration's poll
connections use, and the local stack of `make run` (moto, the gateway, the scheduler, the
stream dispatch) on --port. Once the stack answers, the demo posts a signed sample webhook to
each webhook connection, runs each poll connection once (the scheduler then polls on its own,
every everySeconds), waits for the copier and the aggregator, and prints what was stored by
source, the aggregates the query API answers, the artifacts copied and the console's URL. It
runs until Ctrl-C (or SIGTERM), which stops the stack and the fakes and releases their ports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from eventhub.demo.providers import SimulatedProviders
from eventhub.demo.summary import (
    aggregate_line,
    aggregates,
    answers_health,
    api_keys,
    artifacts_line,
    copied_artifacts,
    counts,
    wait_until,
)
from eventhub.demo.webhooks import Delivery, send_samples
from eventhub.local.scheduler import PollScheduler
from eventhub.local.stack import LocalStack
from functions.logic.polling.model import PollSummary
from functions.models.config import Provider, load_config

QUIET_METRICS = "POWERTOOLS_METRICS_DISABLED"


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


class Demo:
    """``start()``, then ``show()`` (webhooks, polls, summary), then ``stop()``."""

    def __init__(
        self,
        config_path: str | Path,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        events: int = 50,
        every: float = 10.0,
        settle_seconds: float = 20.0,
        verbose: bool = False,
    ) -> None:
        self.config_path = Path(config_path)
        self.config = load_config(self.config_path)
        self.providers = SimulatedProviders.for_config(self.config_path, events=events, every=every)
        self.stack = LocalStack(self.config_path, port=port, host=host, access_log=verbose)
        self.settle_seconds = settle_seconds
        self.keys = api_keys(self.config)
        self.deliveries: list[Delivery] = []
        self.polls: list[PollSummary] = []
        self.started = time.monotonic()

    def start(self) -> None:
        self.providers.start()
        say(f"simulated providers: {self.providers.describe()}")
        say(f"  {self.providers.events} events each to start with, more every {self.providers.every:g} s")
        say(f"starting the local stack ({self.config_path}) ...")
        try:
            self.stack.start()
        except OSError as error:  # most likely the port: `make run` or another demo holds it
            where = f"the local stack cannot start on port {self.stack.requested_port}"
            raise OSError(error.errno, f"{where}: {error.strerror or error}") from error
        if not wait_until(lambda: answers_health(self.stack.url), timeout=30):
            raise OSError(f"the local stack does not answer on {self.stack.url}/health")
        say(f"local stack answering on {self.stack.url} ({time.monotonic() - self.started:.0f} s)")

    def show(self) -> None:
        self.send_webhooks()
        self.poll()
        self.settle()
        self.summarize()

    def stop(self) -> None:
        self.stack.stop()
        self.providers.stop()

    # -- steps -------------------------------------------------------------------------------

    def send_webhooks(self) -> None:
        self.deliveries = send_samples(self.config, self.stack.url, klavi_url=self.providers.klavi.url)
        for delivery in self.deliveries:
            say(delivery.line())

    def poll(self) -> None:
        scheduler = next((s for s in self.stack.services if isinstance(s, PollScheduler)), None)
        if scheduler is None:
            say("no poll connections in the configuration: nothing to poll")
            return
        say("polling each poll connection once now; then the scheduler polls them on their own:")
        for connection in scheduler.connections:
            assert connection.poll is not None
            say(f"  {connection.id} ({connection.provider}) every {connection.poll.every_seconds} s")
        for connection in scheduler.connections:
            result = scheduler.run_once(connection.id)  # prints "[scheduler] poll …"
            if isinstance(result, dict):
                self.polls.append(PollSummary.model_validate(result))

    def settle(self) -> None:
        """Wait (``settle_seconds`` at most) until the aggregates count every event stored for a
        tenant with an API key, then until every file the Klavi fake handed out is copied."""
        say(f"waiting for the aggregator and the copier (up to {self.settle_seconds:g} s) ...")
        deadline = time.monotonic() + self.settle_seconds
        tenants = {c.id: c.tenant_id for c in self.config.connections}
        expected: Counter[str] = Counter()
        for delivery in self.deliveries:
            expected[delivery.tenant_id] += delivery.stored
        for summary in self.polls:
            expected[tenants.get(summary.connection_id, "")] += summary.new

        def counted() -> bool:
            totals = aggregates(self.stack.url, self.keys)
            return all(int(totals[t].get("total") or 0) >= expected[t] for t in totals)

        def copied() -> bool:
            return sum(self._copied().values()) >= self._files()

        wait_until(counted, timeout=deadline - time.monotonic())
        wait_until(copied, timeout=deadline - time.monotonic())

    def summarize(self) -> None:
        by_source: Counter[str] = Counter()
        for delivery in self.deliveries:
            by_source[delivery.provider] += delivery.stored
        for summary in self.polls:
            by_source[summary.provider] += summary.new
        webhooks = sum(d.stored for d in self.deliveries)
        polled = sum(s.new for s in self.polls)
        say(f"summary, {time.monotonic() - self.started:.0f} s after the start")
        say(f"  stored by source: {counts(by_source)} (webhooks {webhooks}, polls {polled})")
        say("  aggregates (GET /api/v1/events/aggregate, per API key of the configuration):")
        for tenant, body in aggregates(self.stack.url, self.keys).items():
            say(f"    {aggregate_line(tenant, body)}")
        bucket = f"s3://{self.stack.resources['bucket']}/artifacts/"
        say(f"  {artifacts_line(self._copied(), self._files(), bucket)}")
        key = next(iter(self.keys.values()), None)
        say(f"  console: {self.stack.url}/console" + (f" (API key {key})" if key else ""))
        if key:
            say(f"  try: curl -H 'X-API-Key: {key}' '{self.stack.url}/api/v1/events?limit=5'")

    def _files(self) -> int:
        """The result files the events point at: one per event the Klavi fake handed out, and
        the Klavi webhook's (its URL moved onto the fake)."""
        pushed = sum(d.stored for d in self.deliveries if d.provider == Provider.KLAVI.value)
        return len(self.providers.klavi.served) + pushed

    def _copied(self) -> Counter[str]:
        return copied_artifacts(self.stack.client("s3"), self.stack.resources["bucket"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m eventhub.demo.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=os.environ.get("CONFIG") or "config/local.json")
    port = int(os.environ.get("PORT") or 3000)
    parser.add_argument("--port", type=int, default=port, help="default: $PORT or 3000; 0: any free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--events", type=int, default=50, help="events each simulated provider starts with")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between the providers' new events")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait for counts and copies")
    parser.add_argument("--verbose", action="store_true", help="the functions' log lines and the access log")
    return parser.parse_args(argv)


def quiet_functions() -> None:
    """The functions' JSON log lines (errors apart) and metric blobs stay out of the demo's
    output; `--verbose` keeps them."""
    from functions.observability import logger

    os.environ[QUIET_METRICS] = "true"
    logger.setLevel("ERROR")


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM end whichever step is under way (as KeyboardInterrupt), even when the
    process was started with SIGINT ignored (a background job); a second signal while the demo
    stops is ignored, so the cleanup runs to its end (its waits are bounded)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        ignore_signals()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.verbose:
        quiet_functions()
    stop_on_signals()
    demo: Demo | None = None
    try:
        demo = Demo(
            args.config,
            port=args.port,
            host=args.host,
            events=args.events,
            every=args.every,
            settle_seconds=args.settle,
            verbose=args.verbose,
        )
        demo.start()
        demo.show()
        say("running: the providers keep gaining events and the scheduler polls them; Ctrl-C stops")
        while True:
            time.sleep(3600)  # until Ctrl-C or SIGTERM
    except KeyboardInterrupt:
        pass
    except (OSError, ValueError) as error:  # a port in use, a configuration that does not load
        print(f"eventhub.demo: cannot run the demo: {error}", file=sys.stderr)
        return 1
    finally:
        ignore_signals()  # whatever ended the run, the cleanup runs to its end
        if demo is not None:
            say("stopping the local stack and the simulated providers ...")
            demo.stop()
            say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
