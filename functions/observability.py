"""The one place that builds Powertools' logger, tracer and metrics."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "eventhub"
NAMESPACE = "EventHub"
# Every metric also carries the stack's name, so two stacks in one account keep their signals
# apart (the stack sets STACK_NAME on each function; a local run is "local").
STACK = os.environ.get("STACK_NAME") or "local"


def tracing_enabled(environ: Any = os.environ) -> bool:
    """Powertools' own rule: on in Lambda unless POWERTOOLS_TRACE_DISABLED or SAM local says off."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not environ.get("AWS_SAM_LOCAL")


class _NoTracer:
    """Stands in for Powertools' Tracer where tracing is off (tests, the local runtime, a
    function deployed without X-Ray). Building the real Tracer imports the X-Ray SDK, which
    creates botocore clients at import: a cold-start cost that buys nothing when tracing is off."""

    def capture_method(self, method: Callable[..., Any] | None = None, **_: Any) -> Any:
        return method if method is not None else (lambda wrapped: wrapped)

    def capture_lambda_handler(self, handler: Callable[..., Any] | None = None, **_: Any) -> Any:
        return handler if handler is not None else (lambda wrapped: wrapped)

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        pass


def _tracer() -> Any:
    if not tracing_enabled():
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


logger = Logger(service=SERVICE)
tracer = _tracer()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(stack=STACK)


def count_by_source(source: str, value: float = 1) -> None:
    """This invocation's metrics once more with a ``source`` dimension beside ``service`` and
    ``stack`` (the dashboard's ingest lines per provider), in the same EMF document: one log line
    per invocation, not one per metric. The plain metrics stay what alarms read."""
    if value > 0:
        metrics.add_dimensions(service=SERVICE, source=source)
