"""DNS for the artifact URL policy: every address a host resolves to, from the system resolver."""

from __future__ import annotations

import socket

from functions.errors import Unresolvable


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the host resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Unresolvable(f"host {host} did not resolve ({type(error).__name__})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
