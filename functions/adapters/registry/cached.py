"""The registry as the functions see it: each answer kept for a short, stated time.

A container reads a connection or a key once per ``ttl_seconds`` (60 by default,
``REGISTRY_CACHE_SECONDS``), so a change made with ``eventhub`` (a revoked key, a disabled
connection, a new secret name) takes effect within that bound, without a deploy. Misses are
kept as long as hits: a flood of requests for unknown ids costs one read per id per bound.
Written by hand rather than taken from a cache library: one dict, one lock and an injected
clock are the whole of it, and the Lambda bundle stays as it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from functions.models.config import Connection
    from functions.ports.registry import Connections, Registry


DEFAULT_TTL_SECONDS = 60.0
MAX_ENTRIES = 4096

T = TypeVar("T")


class TtlCache:
    def __init__(
        self,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], load: Callable[[], T]) -> T:
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now < found[0]:
                return found[1]  # type: ignore[return-value]
        value = load()  # outside the lock: a slow read holds up no other key
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._evict(now)
            self._entries[key] = (now + self.ttl, value)
        return value

    def _evict(self, now: float) -> None:
        expired = [k for k, (until, _) in self._entries.items() if until <= now]
        for key in expired or list(self._entries)[: self.max_entries // 4]:
            del self._entries[key]


class CachedRegistry:
    """Both ports over any source of them (the registry table in AWS and locally)."""

    def __init__(self, source: Registry, cache: TtlCache) -> None:
        self.source = source
        self.cache = cache

    def connection(self, connection_id: str) -> Connection | None:
        return self.cache.get(("connection", connection_id), lambda: self.source.connection(connection_id))

    def tenant_for(self, key_hash: str) -> str | None:
        return self.cache.get(("apikey", key_hash), lambda: self.source.tenant_for(key_hash))


@dataclass(frozen=True)
class CopyView:
    """Connections from the registry with the stack's artifact limits (a ``CopySettings``)."""

    connections: Connections
    allow_loopback_artifacts: bool = False
    max_artifact_bytes: int = 5 * 1024**3

    def connection(self, connection_id: str) -> Connection | None:
        return self.connections.connection(connection_id)
