"""The suite with its clock moved: ``pytest --clock-shift-days 365`` (what ``make test-future`` runs).

The shift is applied in-process with time-machine (``tick=True``: the moved clock keeps running),
before any test module is imported, and handed to every Python process a test starts (the local
stack, a moto server, the CLI) through ``shifted_clock/sitecustomize.py`` on ``PYTHONPATH``, so a
stack in another process agrees with the test on what "now" is. Monotonic clocks and ``sleep``
are left alone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

ENV = "EVENTHUB_TEST_CLOCK_SHIFT_DAYS"
SHIFTED_PID = "EVENTHUB_TEST_CLOCK_SHIFTED_PID"  # set by sitecustomize when it moved this process
SITE_DIR = Path(__file__).resolve().parent / "shifted_clock"


def shift_days(option: float | None) -> float:
    """The shift asked for, by option or by the environment a parent process set (0: none)."""
    if option:
        return option
    return float(os.environ.get(ENV, "0") or 0)


def start(days: float) -> datetime:
    """Move this process's clock ``days`` ahead and pass the shift on to child processes."""
    if os.environ.get(SHIFTED_PID) == str(os.getpid()):
        return datetime.now(UTC)  # a child of a moved run (an xdist worker): already moved
    import time_machine

    destination = datetime.now(UTC) + timedelta(days=days)
    time_machine.travel(destination, tick=True).start()
    os.environ[ENV] = str(days)
    paths = [str(SITE_DIR), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return destination
