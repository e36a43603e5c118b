"""The local HTTP surface, as the stack declares it: which paths reach which handler, by which
methods, through which integration, and the path parameters a request's path gives.

The query routes are REST API resources (GET only). ``/webhooks/...`` stands for the intake's
function URL, served on the same local port: in AWS every path and method reaches the function,
so here every method under ``/webhooks/`` does, and the intake itself refuses what is not
``POST /webhooks/{connectionId}``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

INTAKE_HANDLER = "functions.handlers.intake.handler"
QUERY_HANDLER = "functions.handlers.query.handler"


@dataclass(frozen=True)
class Route:
    """One API Gateway resource (``/api/{proxy+}``), or a function URL's paths (``/webhooks/{proxy+}``)."""

    resource: str
    handler: str
    methods: frozenset[str] | None = None  # None: any method (the handler decides)
    integration: Literal["rest", "function-url"] = "rest"  # which event the handler receives

    def __post_init__(self) -> None:
        pattern = "^"
        for part in re.split(r"(\{[^}]+\})", self.resource):
            if part.startswith("{") and part.endswith("+}"):
                pattern += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += re.escape(part)
        object.__setattr__(self, "_regex", re.compile(pattern + "$"))

    def match(self, path: str) -> dict[str, str] | None:
        found = self._regex.match(path)  # type: ignore[attr-defined]
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


READ_ONLY = frozenset({"GET"})
ROUTES: tuple[Route, ...] = (
    Route("/webhooks/{proxy+}", INTAKE_HANDLER, None, "function-url"),
    # The stack declares only GET on the query API's resources; so does the local gateway.
    Route("/api/{proxy+}", QUERY_HANDLER, READ_ONLY),
    Route("/openapi.json", QUERY_HANDLER, READ_ONLY),
    Route("/docs", QUERY_HANDLER, READ_ONLY),
    Route("/docs/{proxy+}", QUERY_HANDLER, READ_ONLY),
    Route("/console", QUERY_HANDLER, READ_ONLY),
    Route("/console/{proxy+}", QUERY_HANDLER, READ_ONLY),
)


def find_route(routes: Sequence[Route], path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        params = route.match(path)
        if params is not None:
            return route, params
    return None
