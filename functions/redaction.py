"""Keep URL credentials (presigned query strings, user info) out of items, logs and responses."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

UNPARSEABLE = "<unparseable url>"


def redact_url(url: str) -> str:
    """The URL without its query string, fragment and user info: safe to store and show."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port  # raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        return UNPARSEABLE
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
