"""What the functions read from the registry: one connection by id, one API key by its hash.

Implemented by ``adapters.registry`` (the registry table, behind a short cache) and, for tests
and tools that hold a whole file, by ``models.config.HubConfig`` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from functions.models.config import Connection


class Connections(Protocol):
    def connection(self, connection_id: str) -> Connection | None:
        """The enabled connection of this id, or None (unknown and disabled look the same)."""
        ...


class ApiKeys(Protocol):
    def tenant_for(self, key_hash: str) -> str | None:
        """The tenant of the API key whose SHA-256 (hex) this is, or None."""
        ...


class CopySettings(Connections, Protocol):
    """What a copy needs besides its adapters: the connection's hosts and the stack's limits."""

    @property
    def allow_loopback_artifacts(self) -> bool: ...

    @property
    def max_artifact_bytes(self) -> int: ...


class Registry(Connections, ApiKeys, Protocol):
    """Both reads (the registry table; a whole ``HubConfig`` in tests and tools)."""
