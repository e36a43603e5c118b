"""The --from/--to options: ISO 8601, unix seconds, ``now`` or a span ago (``15m``, ``2h``, ``7d``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from eventhub.cli.errors import EXIT_BAD_INPUT, CliError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(value: str, option: str, *, now: datetime | None = None) -> datetime:
    """ISO 8601 (``2024-05-01``, ``2024-05-01T10:00:00Z``), unix seconds, ``now``, or a span ago
    (``15m``, ``2h``, ``7d``)."""
    text = value.strip()
    now = now or datetime.now(UTC)
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), tz=UTC)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise CliError(
            f"{option}: {value!r} is not a time; use ISO 8601 (2024-05-01T10:00:00Z), unix seconds, "
            "'now' or a span ago such as 15m, 2h, 7d",
            EXIT_BAD_INPUT,
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def time_range(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """The --from/--to pair as ISO 8601 UTC strings, refused when --from is after --to."""
    now = datetime.now(UTC)
    begin = parse_moment(start, "--from", now=now) if start else None
    finish = parse_moment(end, "--to", now=now) if end else None
    if begin and finish and begin > finish:
        raise CliError(
            f"bad time range: --from {begin.isoformat()} is after --to {finish.isoformat()}", EXIT_BAD_INPUT
        )

    def iso(moment: datetime | None) -> str | None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None

    return iso(begin), iso(finish)
