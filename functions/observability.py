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


def count_by_source(name: str, source: str, value: float = 1) -> None:
    """``name`` once more with a ``source`` dimension beside ``service`` and ``stack``: the
    dashboard's ingest lines per provider. The plain metric stays what alarms read.
    ``POWERTOOLS_METRICS_DISABLED`` silences it like the other metrics (Powertools'
    ``single_metric`` does not look at that switch itself)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if value <= 0 or is_metrics_disabled():
        return

    dimensions = {"service": SERVICE, "stack": STACK}
    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE, default_dimensions=dimensions
    ) as metric:
        metric.add_dimension(name="source", value=source)
