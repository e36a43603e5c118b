"""The local stand-in for EventBridge Scheduler: each poll connection's poller, on its interval.

In AWS one schedule per poll connection (in the stack's schedule group, put there by
``eventhub config apply`` and ``eventhub connections``) invokes the poller Lambda with
``{"connectionId": id}`` every ``everySeconds`` rounded up to whole minutes. Here the same
schedules live in the embedded AWS's group, and one background thread invokes the same handler
in-process, through the local stack (``stack.invoke``), every ``everySeconds`` exactly, the first
time one interval after start (as a rate schedule does). Every few seconds it reads the group
again: a schedule added or removed while the stack runs is followed. Runs of one connection never
overlap (the runtime runs a function one invocation at a time, and the poller's lease would
skip a second run anyway). A failed run is reported on one line and retried at its next slot.

Alongside, ``Registration`` notes where the running stack's embedded AWS listens (in
``.local/run/<port>.json``), so that ``make poll`` stores into the same place.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.logic.polling.model import PollSummary
from functions.models.config import Connection

if TYPE_CHECKING:
    from eventhub.local.stack import LocalStack

HANDLER = "functions.handlers.poller.handler"
# The poller's Lambda timeout (infra/constants.py): what a run may use, less its safety margin.
TIMEOUT_SECONDS = 300.0
STOP_WAIT_SECONDS = 10.0
REFRESH_SECONDS = 2.0  # how soon a schedule added or removed while the stack runs is followed


def registry() -> Path:
    """Where running local stacks register (under the working directory, like ``make run``)."""
    return Path.cwd() / ".local" / "run"


log = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]


class PollScheduler:
    """Start with ``start(stack)`` (or ``start_with(invoke)``), stop with ``stop()``."""

    def __init__(
        self,
        connections: list[Connection],
        *,
        timeout_seconds: float = TIMEOUT_SECONDS,
        first_delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh: Callable[[], list[Connection]] | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.connections = [c for c in connections if c.poll is not None]
        self.refresh = refresh
        self.refresh_seconds = refresh_seconds
        self.timeout_seconds = timeout_seconds
        self.first_delay = first_delay
        self.clock = clock
        self.runs: dict[str, int] = {c.id: 0 for c in self.connections}
        self.last_result: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._invoke: Invoke | None = None

    # -- LocalService ------------------------------------------------------------------------

    def start(self, stack: LocalStack) -> None:
        self.start_with(
            lambda handler, event: stack.invoke(handler, event, timeout_seconds=self.timeout_seconds)
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_SECONDS)  # a run under way finishes on its own
            self._thread = None

    # -- scheduling --------------------------------------------------------------------------

    def start_with(self, invoke: Invoke) -> None:
        if (not self.connections and self.refresh is None) or self._thread is not None:
            return
        self._invoke = invoke
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="eventhub-scheduler", daemon=True)
        self._thread.start()
        names = ", ".join(f"{c.id} every {c.poll.every_seconds} s" for c in self.connections if c.poll)
        print(f"[scheduler] polling {names or 'nothing yet'}", flush=True)

    def _first(self, connection: Connection, now: float) -> float:
        assert connection.poll is not None
        return now + (self.first_delay if self.first_delay is not None else connection.poll.every_seconds)

    def _loop(self) -> None:
        now = self.clock()
        due = {c.id: (self._first(c, now), c) for c in self.connections}
        next_refresh = now + self.refresh_seconds
        while not self._stop.is_set():
            if self.refresh is not None and self.clock() >= next_refresh:
                self._follow(due)
                next_refresh = self.clock() + self.refresh_seconds
            if not due and self.refresh is None:
                return
            wakes = [at for at, _ in due.values()] + ([next_refresh] if self.refresh is not None else [])
            if self._stop.wait(max(0.0, min(wakes) - self.clock())):
                return
            for connection_id, (at, connection) in sorted(due.items(), key=lambda item: item[1][0]):
                if at > self.clock() or self._stop.is_set():
                    continue
                self.run_once(connection_id)
                assert connection.poll is not None
                due[connection_id] = (max(at + connection.poll.every_seconds, self.clock()), connection)

    def _follow(self, due: dict[str, tuple[float, Connection]]) -> None:
        """Schedules added, changed or removed since the last read of the group."""
        assert self.refresh is not None
        try:
            current = {c.id: c for c in self.refresh() if c.poll is not None}
        except Exception as error:  # the embedded AWS is going away, or busy: read it next time
            log.debug("scheduler: cannot read the schedules (%s)", type(error).__name__)
            return
        for connection_id in set(due) - set(current):
            del due[connection_id]
            print(f"[scheduler] stopped polling {connection_id}", flush=True)
        for connection_id, connection in current.items():
            if connection_id not in due:
                due[connection_id] = (self._first(connection, self.clock()), connection)
                assert connection.poll is not None
                print(
                    f"[scheduler] polling {connection_id} every {connection.poll.every_seconds} s", flush=True
                )
            elif due[connection_id][1] != connection:
                due[connection_id] = (due[connection_id][0], connection)

    def run_once(self, connection_id: str) -> Any:
        """Invoke the poller for one connection now; a failure is reported, not raised."""
        assert self._invoke is not None
        self.runs[connection_id] = self.runs.get(connection_id, 0) + 1
        try:
            result = self._invoke(HANDLER, {"connectionId": connection_id})
        except Exception as error:  # a failed invocation: reported; the next slot tries again
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            print(f"[scheduler] poll {connection_id} failed: {type(error).__name__}: {message}", flush=True)
            self.last_result[connection_id] = error
            return None
        self.last_result[connection_id] = result
        if isinstance(result, dict):
            print(f"[scheduler] poll {PollSummary.model_validate(result).line()}", flush=True)
        return result


class Registration:
    """Leaves ``.local/run/<gateway port>.json`` (the embedded AWS endpoint, this process) while
    the stack runs, so ``make poll`` can use the running stack's store instead of its own."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or registry()
        self.path: Path | None = None

    def start(self, stack: LocalStack) -> None:
        if not stack.endpoint_url:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"{stack.port}.json"
        record = {
            "pid": os.getpid(),
            "awsEndpointUrl": stack.endpoint_url,
            "url": stack.url,
            "eventBusName": stack.resources.get("event_bus", ""),
        }
        self.path.write_text(json.dumps(record) + "\n", encoding="utf-8")

    def stop(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def running_stack_endpoint(port: int, directory: Path | None = None) -> str | None:
    """The AWS endpoint of the local stack serving ``port``, if one is running; else None."""
    path = (directory or registry()) / f"{port}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(record["pid"]), 0)  # signal 0: is that process still there?
        with urllib.request.urlopen(f"{record['url']}/health", timeout=2) as answer:  # noqa: S310 - loopback
            if answer.status != 200:
                return None
        return str(record["awsEndpointUrl"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def scheduled_connections(stack: LocalStack) -> list[Connection]:
    """The poll connections that have a schedule in the embedded group, as the registry holds them."""
    registry = stack.registry_table()
    found = []
    for name in stack.schedules().current():
        connection = registry.connection(name)
        if connection is not None and connection.poll is not None:
            found.append(connection)
    return found


def local_services(stack: LocalStack) -> list[PollScheduler | Registration]:
    """What the local stack starts (see eventhub.local.services)."""
    return [
        Registration(),
        PollScheduler(scheduled_connections(stack), refresh=lambda: scheduled_connections(stack)),
    ]
