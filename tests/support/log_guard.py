"""A guard over every log record the suite produces: no secret, API key or URL credential.

Every record that reaches the root logger (Powertools' logger propagates to it) is rendered
with its structured extras and checked against the values registered as sensitive and the
query-string markers of presigned URLs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PRESIGNED_MARKERS = re.compile(
    r"X-Amz-(Signature|Credential|Security-Token)=|[?&](Signature|Expires|sig|se|sp)=[^&\s\"]+",
    re.IGNORECASE,
)


def secrets_in_config(path: Path) -> set[str]:
    """Every inline secret value and API key of a config file."""
    data = json.loads(path.read_text())
    found: set[str] = set()
    for connection in data.get("connections", []):
        found.update(s for s in connection.get("secrets", []) if isinstance(s, str))
        poll = connection.get("poll") or {}
        found.update(poll[k] for k in ("secretKey", "apiKey") if isinstance(poll.get(k), str))
    found.update(k["key"] for k in data.get("apiKeys", []) if isinstance(k.get("key"), str))
    return found


class LogGuard(logging.Handler):
    def __init__(self, sensitive: Iterable[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.sensitive = {s for s in sensitive if len(s) >= 6}
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {k: v for k, v in record.__dict__.items() if k not in ("args", "msg")}
            fields["message"] = record.getMessage()
            self.lines.append(json.dumps(fields, default=str))
        except Exception:  # a record that cannot be rendered is still checked by its text
            self.lines.append(str(record.msg))

    def violations(self) -> list[str]:
        bad = []
        for line in self.lines:
            if PRESIGNED_MARKERS.search(line) or any(secret in line for secret in self.sensitive):
                bad.append(line[:300])
        return bad
