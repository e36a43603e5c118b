"""Which artifact URLs the copier may fetch: the SSRF gate, checked before any request is made.

A URL is fetched only over HTTPS, only if its host is a well-formed DNS name matching one of
the connection's host patterns, on the scheme's default port unless the matching pattern names
another (``host:port``), and only if every address the host resolves to is a public one. IP
literals are never fetched. The copier then connects to the very addresses checked here (no second lookup
that a rebinding DNS answer could turn towards an internal address).

For one-machine runs and tests, ``allowLoopbackArtifacts`` admits plain-HTTP (or HTTPS) URLs
to ``127.0.0.1`` and ``localhost``, and nothing else besides what the rules above admit.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from urllib.parse import SplitResult, urljoin, urlsplit

from functions.errors import Unresolvable
from functions.models.fetch import DEFAULT_PORTS, FetchTarget
from functions.ports.artifacts import Resolver

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
# Host spellings that resolvers read as numbers (2130706433, 0x7f.1, 127.1): IP literals too.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$")
# One label of a DNS name as URLs carry it (IDNs arrive as xn-- punycode): letters, digits,
# hyphens (not at either end) and underscores, at most 63; a name is at most 253 characters.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_MAX_NAME = 253
HTTPS_PORT = DEFAULT_PORTS["https"]


class Refused(Exception):
    """The URL must not be fetched; ``reason`` says why and never contains the URL's query."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return bool(_NUMERIC_HOST.match(host))
    return True


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def well_formed_host(host: str) -> bool:
    """A DNS host name: dot-separated labels, nothing else (no spaces, no ``%``, no ``@``)."""
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= _MAX_NAME and all(_LABEL.match(label) for label in name.split("."))


def split_pattern(pattern: str) -> tuple[str, int | None]:
    """An allowlist entry as (host glob, port): ``*.example.com`` or ``files.example.com:8443``."""
    host, colon, port = pattern.rpartition(":")
    if colon and port.isascii() and port.isdigit():
        return host, int(port)
    return pattern, None


def host_allowed(host: str, patterns: Sequence[str], port: int = HTTPS_PORT) -> bool:
    """Glob patterns over the whole host name, case-insensitive (``*.amazonaws.com``). A pattern
    admits the default HTTPS port only, unless it names its own (``host:port``): then that one."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        glob, allowed_port = split_pattern(pattern)
        if port == (allowed_port or HTTPS_PORT) and fnmatchcase(host, glob.lower().rstrip(".")):
            return True
    return False


def _split(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise Refused("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused(f"scheme {scheme or '(none)'!r} is not allowed; only https")
    if not host:
        raise Refused("the URL has no host")
    return parts, host, port if port is not None else DEFAULT_PORTS[scheme]


def check_url(
    url: str,
    allowed_hosts: Sequence[str],
    *,
    allow_loopback: bool = False,
    resolve: Resolver,
) -> FetchTarget:
    """The target to fetch, or ``Refused``. Raises ``Unresolvable`` if DNS has no answer."""
    parts, host, port = _split(url)
    scheme = parts.scheme.lower()
    if allow_loopback and host in LOOPBACK_HOSTS:
        return FetchTarget(url, scheme, host, port, ("127.0.0.1",))
    if scheme != "https":
        raise Refused(f"plain {scheme} is not allowed; only https")
    if _ip_literal(host):
        raise Refused("an IP address is not allowed as host; only allow-listed host names")
    if not well_formed_host(host):
        raise Refused("the URL's host is not a well-formed host name")
    if not host_allowed(host, allowed_hosts, port):
        if host_allowed(host, [split_pattern(p)[0] for p in allowed_hosts]):
            raise Refused(f"port {port} of host {host} is not on the connection's artifact host allowlist")
        raise Refused(f"host {host} is not on the connection's artifact host allowlist")
    addresses = tuple(resolve(host, port))
    if not addresses:
        raise Unresolvable(f"host {host} did not resolve")
    private = [a for a in addresses if not _public(a)]
    if private:
        raise Refused(f"host {host} resolves to a non-public address ({private[0]})")
    return FetchTarget(url, scheme, host, port, addresses)


def redirect_url(current: str, location: str) -> str:
    """The absolute URL a Location header points at (checked again before it is followed)."""
    return urljoin(current, location.strip())
