"""A provider API fake: a real HTTP server on 127.0.0.1 in a background thread, with knobs.

Knobs (all thread-safe, all usable while a sync is running):

- ``fail_next(status, times=, retry_after=, body=)``: the next requests get this answer
  (``throttle()``: 429 with ``Retry-After``; ``outage()``: a burst of 503s);
- ``slow(seconds, times=)``: the next requests (or all, ``times=None``) wait before answering;
- ``reject_credentials = True``: every request is answered 401, whatever its key;
- ``malformed_next(kind)``: the next data answer is broken in a provider-specific way
  (``"bad_json"``, ``"missing_field"``, ...);
- ``on_request(hook)``: ``hook(request)`` runs before each answer: insert events mid-sync,
  block on a gate, count pages.

``requests`` records every request (path, query, and the names of its headers - never the
credential values).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names -> values (compare, never log)
    number: int  # 1-based count of requests this fake has seen

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON; bytes/str -> as is
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


def _handler_for(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY the second waits for
        # the client's delayed ACK (~40 ms a response on Linux).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            reply = fake.handle(method, self.path, {k.lower(): v for k, v in self.headers.items()})
            data = reply.encoded()
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a read timeout): nothing to answer to

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    return Handler


class FakeProvider:
    """Subclasses implement ``route(request) -> Reply``, ``authorized(request)``, ``unauthorized()``
    and ``malformed(kind, request) -> Reply``."""

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requested_port = port
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.reject_credentials = False
        self._faults: deque[Reply] = deque()
        self._malformed: deque[str] = deque()
        self._slow_seconds = 0.0
        self._slow_left: int | None = 0
        self._hooks: list[Callable[[Request], None]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        self._server = _Server((self.host, self.requested_port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- knobs -------------------------------------------------------------------------------

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | int | None = None, body: Any = None
    ) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self.lock:
            for _ in range(times):
                self._faults.append(Reply(status, body if body is not None else {"error": status}, headers))

    def throttle(self, *, times: int = 1, retry_after: str | int | None = 1) -> None:
        self.fail_next(429, times=times, retry_after=retry_after, body={"message": "Too Many Requests"})

    def outage(self, *, times: int = 3, status: int = 503) -> None:
        self.fail_next(status, times=times, body={"message": "Service Unavailable"})

    def slow(self, seconds: float, *, times: int | None = None) -> None:
        """Wait ``seconds`` before answering the next ``times`` requests (None: every request)."""
        with self.lock:
            self._slow_seconds, self._slow_left = seconds, times

    def malformed_next(self, kind: str = "bad_json", *, times: int = 1) -> None:
        with self.lock:
            self._malformed.extend([kind] * times)

    def on_request(self, hook: Callable[[Request], None]) -> None:
        with self.lock:
            self._hooks.append(hook)

    def clear_hooks(self) -> None:
        with self.lock:
            self._hooks.clear()

    def pages_served(self, path_prefix: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    # -- answering ---------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.lock:
            request = Request(method, parts.path, query, headers, len(self.requests) + 1)
            self.requests.append(request)
            hooks = list(self._hooks)
            delay = 0.0
            if self._slow_seconds and (self._slow_left is None or self._slow_left > 0):
                delay = self._slow_seconds
                if self._slow_left is not None:
                    self._slow_left -= 1
        for hook in hooks:
            hook(request)
        if delay:
            time.sleep(delay)
        if self.reject_credentials or not self.authorized(request):
            return self.unauthorized()
        with self.lock:
            if self._faults:
                return self._faults.popleft()
            kind = self._malformed.popleft() if self._malformed else None
        if kind is not None:
            return self.malformed(kind, request)
        return self.route(request)

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def authorized(self, request: Request) -> bool:
        return True

    def unauthorized(self) -> Reply:
        return Reply(401, {"detail": "Unauthorized"})

    def malformed(self, kind: str, request: Request) -> Reply:
        if kind == "bad_json":
            return Reply(200, b'{"events": [{"id": "truncated"')
        raise ValueError(f"{type(self).__name__} has no malformed answer {kind!r}")
