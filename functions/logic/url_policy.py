"""Which artifact URLs the copier may fetch: the SSRF gate, checked before any request is made.

A URL is fetched only over HTTPS, only if its host matches one of the connection's host
patterns, and only if every address the host resolves to is a public one. IP literals are
never fetched. The copier then connects to the very addresses checked here (no second lookup
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


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Glob patterns over the whole host name, case-insensitive (``*.amazonaws.com``)."""
    host = host.lower().rstrip(".")
    return any(fnmatchcase(host, pattern.lower().rstrip(".")) for pattern in patterns)


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
    if not host_allowed(host, allowed_hosts):
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
