"""The local gateway's connections over raw sockets on 127.0.0.1: malformed bodies get a 400 (not
an exception in the server), and clients that go silent are timed out."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventhub.local.gateway import Gateway, GatewayServer

READ_TIMEOUT = 0.5
CLIENT_TIMEOUT = 5.0  # a test that would hang fails after this instead


class Invocations:
    """The function behind the gateway: remembers the events (and bodies) it was given and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[str | None] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, handler: str, event: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(event.get("body"))
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok":true}'}


@pytest.fixture
def invocations() -> Invocations:
    return Invocations()


@pytest.fixture
def server(invocations: Invocations) -> Iterator[GatewayServer]:
    running = GatewayServer(
        ("127.0.0.1", 0), Gateway(invocations), access_log=False, read_timeout=READ_TIMEOUT
    )
    thread = threading.Thread(target=running.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def connect(server: GatewayServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def read_response(sock: socket.socket) -> bytes:
    """One response on a connection that stays open: its head, then Content-Length bytes."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:]
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def status_and_body(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def chunked_post(body: bytes) -> bytes:
    head = b"POST /webhooks/extend-dev HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + body


@pytest.mark.parametrize(
    "chunks",
    # Each ends where the gateway stops reading: bytes left unread when it closes would turn
    # the close into a reset that can discard its answer before the client reads it.
    [
        b"zz\r\n",
        b"-5\r\n",
        b"0x5\r\n",
        b"1_0\r\n",
        b"\r\n",
        b"3\r\nhelxy\r",
        b"f" * 4097,
    ],
    ids=[
        "not-hex",
        "negative",
        "0x-prefix",
        "underscore",
        "empty-size",
        "chunk-longer-than-its-size",
        "long-line",
    ],
)
def test_malformed_chunked_body_is_answered_400_and_the_connection_closed(
    server: GatewayServer, invocations: Invocations, capfd: pytest.CaptureFixture[str], chunks: bytes
) -> None:
    # Given a client sending a chunked body whose framing is broken
    with connect(server) as sock:
        # When it is sent
        sock.sendall(chunked_post(chunks))
        raw = read_all(sock)

    # Then the gateway answers 400 saying so, closes the connection, invokes nothing, and
    # prints no traceback
    status, body = status_and_body(raw)
    assert status == 400 and body["error"] == "bad_request" and "chunk" in body["message"]
    assert b"Connection: close" in raw
    assert invocations.bodies == []
    assert "Traceback" not in capfd.readouterr().err


def test_chunked_body_ending_inside_a_chunk_is_answered_400(
    server: GatewayServer, invocations: Invocations
) -> None:
    # Given a client that declares a 10-byte chunk, sends 3 bytes and stops sending
    with connect(server) as sock:
        sock.sendall(chunked_post(b"a\r\nabc"))
        sock.shutdown(socket.SHUT_WR)
        raw = read_all(sock)

    # Then the body is refused as cut off
    status, body = status_and_body(raw)
    assert status == 400 and "ended inside a chunk" in body["message"]
    assert invocations.bodies == []


@pytest.mark.parametrize("length", [b"abc", b"-1", b"10, 20"], ids=["word", "negative", "list"])
def test_content_length_that_is_not_a_number_is_answered_400(
    server: GatewayServer, invocations: Invocations, length: bytes
) -> None:
    # Given a request whose Content-Length is not a number of bytes
    request = b"POST /webhooks/extend-dev HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length
    with connect(server) as sock:
        # When it is sent
        sock.sendall(request + b"\r\n\r\n")
        raw = read_all(sock)

    # Then it is refused, not read as an empty body
    status, body = status_and_body(raw)
    assert status == 400 and "Content-Length" in body["message"]
    assert invocations.bodies == []


def test_well_formed_chunked_body_reaches_the_function(
    server: GatewayServer, invocations: Invocations
) -> None:
    # Given a chunked body in two chunks, with an extension and a trailer
    chunks = b"5;name=x\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    with connect(server) as sock:
        # When it is sent
        sock.sendall(chunked_post(chunks).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        raw = read_all(sock)

    # Then the function gets the whole body
    assert raw.startswith(b"HTTP/1.1 200")
    assert invocations.bodies == ["hello world"]


def test_idle_client_is_disconnected_after_the_read_timeout(server: GatewayServer) -> None:
    # Given a client that connects and sends nothing
    with connect(server) as sock:
        started = time.monotonic()
        # When it waits
        raw = read_all(sock)
        waited = time.monotonic() - started

    # Then the gateway closes the connection once the read timeout has passed
    assert raw == b""
    assert READ_TIMEOUT * 0.8 <= waited < CLIENT_TIMEOUT


def test_client_stalling_inside_a_body_gets_408_and_is_disconnected(
    server: GatewayServer, invocations: Invocations
) -> None:
    # Given a client that declares 100 bytes of body, sends 10, and goes silent
    request = b"POST /webhooks/extend-dev HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(request + b"0123456789")
        raw = read_all(sock)

    # Then it is answered 408 and the connection is closed, without invoking anything
    status, body = status_and_body(raw)
    assert status == 408 and body["error"] == "request_timeout"
    assert invocations.bodies == []


def test_keep_alive_connection_serves_requests_sent_within_the_timeout(
    server: GatewayServer, invocations: Invocations
) -> None:
    # Given a client that sends two requests on one connection, a moment apart
    request = b"POST /webhooks/extend-dev HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"
    with connect(server) as sock:
        sock.sendall(request)
        first = read_response(sock)
        time.sleep(READ_TIMEOUT / 5)
        sock.sendall(request)
        second = read_response(sock)

    # Then both are answered on it
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    assert invocations.bodies == ["{}", "{}"]


def test_a_webhook_event_names_the_tcp_peer_as_its_source_and_an_event_read_too(
    server: GatewayServer, invocations: Invocations
) -> None:
    # Given a client that claims another address in X-Forwarded-For
    claimed = "X-Forwarded-For: 18.230.43.17\r\n"
    with connect(server) as sock:
        peer = sock.getsockname()[0]
        # When it posts a webhook, then reads an event, on one connection
        head = f"POST /webhooks/klavi-push HTTP/1.1\r\nHost: 127.0.0.1\r\n{claimed}Content-Length: 2"
        sock.sendall(f"{head}\r\n\r\n{{}}".encode())
        read_response(sock)
        sock.sendall(
            f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{claimed}Connection: close\r\n\r\n".encode()
        )
        read_all(sock)

    # Then the webhook's function URL event names the TCP peer in requestContext.http.sourceIp
    webhook, read = invocations.events
    assert webhook["version"] == "2.0" and webhook["requestContext"]["http"]["sourceIp"] == peer
    # And the event read's REST proxy event names it in requestContext.identity.sourceIp
    assert read["requestContext"]["identity"]["sourceIp"] == peer
    # And the claimed address is only a header
    assert webhook["headers"]["x-forwarded-for"] == "18.230.43.17"
