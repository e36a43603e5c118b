"""A request's body as the local gateway reads it off the socket: by Content-Length or chunked,
bounded, and strict, so a malformed body is a 400 rather than an exception in the server.

``MalformedBody`` says what is wrong; ``read_body`` answers None for a body over the limit
(which is then not read at all). A client that goes silent mid-body raises ``TimeoutError`` from
the socket (the server sets a read timeout on each connection).
"""

from __future__ import annotations

import re
from email.message import Message
from io import BufferedIOBase

# A chunk-size line: hex digits, optional whitespace and chunk extensions (";name=value"), CRLF.
_CHUNK_SIZE = re.compile(rb"^([0-9A-Fa-f]{1,16})[ \t]*(;[^\r\n]*)?\r?\n$")
MAX_LINE_BYTES = 4096  # a chunk-size or trailer line longer than this is refused
MAX_TRAILERS = 100


class MalformedBody(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_chunked(headers: Message) -> bool:
    return "chunked" in (headers.get("Transfer-Encoding") or "").lower()


def content_length(headers: Message) -> int | None:
    """The declared length, None if none is; MalformedBody if it is not one decimal number."""
    values = set(headers.get_all("Content-Length") or [])
    if not values:
        return None
    if len(values) > 1:
        raise MalformedBody("the request has conflicting Content-Length headers")
    value = values.pop().strip()
    if not (value.isascii() and value.isdigit()):
        raise MalformedBody("Content-Length is not a number of bytes")
    return int(value)


def read_body(rfile: BufferedIOBase, headers: Message, limit: int) -> bytes | None:
    if is_chunked(headers):
        return _read_chunked(rfile, limit)
    length = content_length(headers) or 0
    if length > limit:
        return None
    body = rfile.read(length) if length else b""
    if len(body) < length:
        raise MalformedBody("the body ended before its Content-Length")
    return body


def _line(rfile: BufferedIOBase, what: str) -> bytes:
    line = rfile.readline(MAX_LINE_BYTES + 1)
    if not line:
        raise MalformedBody("the chunked body ended before its last chunk")
    if len(line) > MAX_LINE_BYTES or not line.endswith(b"\n"):
        raise MalformedBody(f"a {what} line of the chunked body is too long")
    return line


def _read_chunked(rfile: BufferedIOBase, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    total = 0
    while True:
        match = _CHUNK_SIZE.match(_line(rfile, "chunk size"))
        if match is None:
            raise MalformedBody("a chunk size of the chunked body is not a hexadecimal number")
        size = int(match.group(1), 16)
        if size == 0:
            break
        total += size
        if total > limit:
            return None
        data = rfile.read(size)
        if len(data) < size:
            raise MalformedBody("the chunked body ended inside a chunk")
        if rfile.readline(3) not in (b"\r\n", b"\n"):
            raise MalformedBody("a chunk of the chunked body is longer than its size says")
        chunks.append(data)
    for _ in range(MAX_TRAILERS):
        if _line(rfile, "trailer") in (b"\r\n", b"\n"):
            return b"".join(chunks)
    raise MalformedBody("the chunked body has too many trailer lines")
