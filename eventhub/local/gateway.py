"""The stack's HTTP front doors on one localhost port: the REST API for the query routes and the
intake's function URL for ``/webhooks/...``.

The request is routed (``routes``), turned into the event its front door hands the function in
AWS (``proxy_events``: a REST (v1) proxy event for the query routes, a function URL event, payload
format 2.0, for webhooks), the real handler runs in-process, and its response is written back
(``proxy_responses``). A request whose event would not fit a synchronous Lambda
invocation (6 MB) gets 413 without reaching the handler, as it could not reach it in AWS either.
A malformed body (``request_bodies``) gets 400, a client silent for ``read_timeout`` seconds is
disconnected (408 if it stalls inside a body), and the connection is closed after either.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from eventhub.local.proxy_events import event_size, proxy_event
from eventhub.local.proxy_responses import HttpResponse, from_proxy_response, json_response
from eventhub.local.request_bodies import MalformedBody, content_length, is_chunked, read_body
from eventhub.local.routes import ROUTES, Route, find_route

# A synchronous Lambda invocation carries at most 6 MB of request event (serialized JSON).
MAX_EVENT_BYTES = 6 * 1024 * 1024
# Bodies beyond this are refused without being read (the connection is then closed).
MAX_READ_BYTES = 32 * 1024 * 1024
# A connection whose client sends nothing for this long (idle between requests, or stalled in
# the middle of one) is closed; a stall inside a body is answered 408 first.
READ_TIMEOUT_SECONDS = 30.0

Invoke = Callable[[str, dict[str, Any]], Any]


class Gateway:
    """Route, build the proxy event, invoke, answer. Independent of the HTTP server."""

    def __init__(self, invoke: Invoke, routes: Sequence[Route] = ROUTES) -> None:
        self.invoke = invoke
        self.routes = tuple(routes)
        self.ready = threading.Event()

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> HttpResponse:
        path = unquote(urlsplit(raw_path).path)
        if path == "/health":
            if self.ready.is_set():
                return json_response(200, {"status": "ok"})
            return json_response(503, {"status": "starting"})
        found = find_route(self.routes, path)
        if found is None:
            return json_response(404, {"error": "not_found", "message": f"no route for {method} {path}"})
        route, params = found
        if route.methods is not None and method not in route.methods:
            allow = ", ".join(sorted(route.methods))
            refusal = {"error": "method_not_allowed", "message": f"{method} is not allowed on {path}"}
            return json_response(405, refusal, [("Allow", allow)])
        if len(body) > MAX_EVENT_BYTES:
            return too_large(len(body), "request body")
        event = proxy_event(
            method=method,
            raw_path=raw_path,
            headers=headers,
            body=body,
            route=route,
            path_parameters=params,
            source_ip=source_ip,
        )
        size = event_size(event)
        if size > MAX_EVENT_BYTES:
            return too_large(size, "request event")
        try:
            response = self.invoke(route.handler, event)
        except Exception as error:  # an unhandled error in the function: API Gateway answers 502
            print(f"[gateway] {route.handler} failed: {type(error).__name__}: {error}", file=sys.stderr)
            return json_response(502, {"message": "Internal server error"})
        return from_proxy_response(response)


def bad_request(message: str) -> HttpResponse:
    return json_response(400, {"error": "bad_request", "message": message})


def too_large(size: int, what: str) -> HttpResponse:
    return json_response(
        413,
        {
            "error": "payload_too_large",
            "message": f"{what} of {size} bytes is over the {MAX_EVENT_BYTES}-byte limit "
            "of a synchronous Lambda invocation",
        },
    )


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK hold every keep-alive response back by ~40 ms.
    disable_nagle_algorithm = True
    server: GatewayServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # bounds every read on this connection

    def handle_expect_100(self) -> bool:
        try:
            length = content_length(self.headers)
        except MalformedBody as error:
            self._write(bad_request(error.message), close=True)
            return False
        if length is not None and length > MAX_EVENT_BYTES:
            self._write(too_large(length, "request body"), close=True)
            return False
        return super().handle_expect_100()

    def _respond(self) -> HttpResponse:
        """Read the body and answer; a body that cannot be taken closes the connection."""
        try:
            body = read_body(self.rfile, self.headers, MAX_READ_BYTES)
        except MalformedBody as error:
            self.close_connection = True
            return bad_request(error.message)
        except TimeoutError:
            self.close_connection = True
            message = f"the request body stopped arriving for {self.server.read_timeout:g} s"
            return json_response(408, {"error": "request_timeout", "message": message})
        if body is None:
            self.close_connection = True
            declared = None if is_chunked(self.headers) else content_length(self.headers)
            return too_large(declared or MAX_READ_BYTES, "request body")
        headers = [(name, value) for name, value in self.headers.items()]
        return self.server.gateway.handle(self.command, self.path, headers, body, self.client_address[0])

    def _serve(self) -> None:
        started = time.perf_counter()
        response = self._respond()
        self._write(response, close=self.close_connection, head=self.command == "HEAD")
        if self.server.access_log:
            elapsed = (time.perf_counter() - started) * 1000
            path = urlsplit(self.path).path
            print(
                f"[gateway] {self.command} {path} -> {response.status} ({elapsed:.1f} ms)",
                file=sys.stderr,
                flush=True,
            )

    def _write(self, response: HttpResponse, *, close: bool = False, head: bool = False) -> None:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        self.send_response_only(response.status, phrase)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) reaches the router too, which answers 405 as API
        # Gateway does for a method a resource lacks, never the stdlib's 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one access line per request is printed by _serve


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 resets connections under a few dozen concurrent senders

    def __init__(
        self,
        address: tuple[str, int],
        gateway: Gateway,
        *,
        access_log: bool = True,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.gateway = gateway
        self.access_log = access_log
        self.read_timeout = read_timeout
        super().__init__(address, _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])
