"""A provider API's answer as the pollers read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from functions import jsonutil


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; MalformedPayload (with a clear message) if it is not."""
        return jsonutil.loads(self.body)
