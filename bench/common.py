"""What a benchmark returns, and small helpers every benchmark shares."""

from __future__ import annotations

import socket
import statistics
from collections.abc import Callable
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
