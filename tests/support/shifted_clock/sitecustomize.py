"""Moves the clock of a Python process a test started, when the suite runs with its clock moved.

Only on ``PYTHONPATH`` under ``make test-future`` (``tests/support/clock.py``); self-contained
because the child may not have the project on its path.
"""

import os

_days = float(os.environ.get("EVENTHUB_TEST_CLOCK_SHIFT_DAYS", "0") or 0)
if _days:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=_days), tick=True).start()
    os.environ["EVENTHUB_TEST_CLOCK_SHIFTED_PID"] = str(os.getpid())
