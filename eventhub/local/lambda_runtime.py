"""Invoking the real Lambda handlers in-process, one request at a time per handler.

A Lambda execution environment serves one request at a time, and the handlers rely on it
(Powertools resolvers keep the current event on a module-level app). Each handler gets a
lock, so a threaded server or a background service can call it safely.
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


class LocalContext:
    """The parts of ``LambdaContext`` the handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def function_name_of(handler_path: str) -> str:
    """``functions.handlers.intake.handler`` -> ``eventhub-intake``."""
    module = handler_path.rsplit(".", 1)[0]
    return "eventhub-" + module.rsplit(".", 1)[-1]


class LambdaRuntime:
    """Imports handlers by dotted path on first use and invokes them one at a time each."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.invocations: Counter[str] = Counter()  # handler path -> calls, for tests and benchmarks

    def _resolve(self, handler_path: str) -> tuple[Handler, threading.Lock]:
        with self._guard:
            if handler_path not in self._handlers:
                module_name, _, attribute = handler_path.rpartition(".")
                module = importlib.import_module(module_name)
                self._handlers[handler_path] = getattr(module, attribute)
                self._locks[handler_path] = threading.Lock()
            return self._handlers[handler_path], self._locks[handler_path]

    def invoke(self, handler_path: str, event: dict[str, Any], *, timeout_seconds: float = 29.0) -> Any:
        """Call the handler with a fresh context; exceptions propagate like a failed invocation."""
        handler, lock = self._resolve(handler_path)
        with lock:
            self.invocations[handler_path] += 1
            context = LocalContext(function_name_of(handler_path), timeout_seconds)
            return handler(event, context)
