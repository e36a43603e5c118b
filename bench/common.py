"""What a benchmark returns, and small helpers every benchmark shares."""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Metric:
    """One row of the table. ``ratio`` is ours / baseline; ``higher_is_better`` says which way is
    good (a throughput ratio should be high, a cold-start ratio low); ``target`` is a
    human-readable goal such as ">= 0.67"."""

    name: str
    ours: float
    unit: str
    baseline: float | None = None
    target: str = ""
    higher_is_better: bool = True
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.ours == 0:
            return None
        return self.ours / self.baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def median_of(samples: list[float]) -> float:
    return statistics.median(samples)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


Benchmark = Callable[[bool], list[Metric]]


@contextlib.contextmanager
def moto_server(env: dict[str, str] | None = None) -> Iterator[str]:
    """A moto server in a process of its own (with the local runtime's speed-ups);
    yields its endpoint URL and stops it, killing it if it does not stop in time."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "eventhub.local.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):  # noqa: S310 - loopback
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
