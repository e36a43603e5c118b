"""What polling needs: the provider's API over HTTP, secrets, the store and the spill queue.

Implemented by ``adapters.http_client``, ``adapters.secrets``, ``adapters.event_store`` and
``adapters.spill``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from functions.models.config import SecretValue
from functions.models.event import NewEvent
from functions.models.http import HttpResponse
from functions.models.polling import Page
from functions.models.spill import SpilledEvent
from functions.models.store import PutResult


class HttpSource(Protocol):
    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        budget_seconds: float | None = None,
    ) -> HttpResponse:
        """GET with retries on transient failures; ``ProviderAuthFailed`` on 401/403."""
        ...


class SecretReader(Protocol):
    def resolve(self, value: SecretValue) -> str: ...

    def resolve_all(self, values: Sequence[SecretValue]) -> list[str]: ...


class PollStore(Protocol):
    def put(self, new: NewEvent) -> PutResult: ...

    def existing_ids(self, event_ids: list[str]) -> set[str]: ...

    def get_checkpoint(self, connection_id: str) -> str | None: ...

    def advance_checkpoint(
        self, connection_id: str, position: str, *, run_id: str, updated_at: str
    ) -> bool: ...

    def acquire_lease(self, name: str, owner: str, *, seconds: float, now: float) -> bool: ...

    def release_lease(self, name: str, owner: str) -> None: ...


class Spill(Protocol):
    def spill(
        self, *, connection_id: str, provider: str, reason: str, received_at: str, body: bytes
    ) -> str: ...

    def drain(self, *, wait_seconds: int = 1, visibility: int = 120) -> Iterator[SpilledEvent]: ...

    def delete(self, spilled: SpilledEvent) -> None: ...


class PageSource(Protocol):
    """A provider's list endpoint over a frozen window (VAI: offset paging; Exa: cursors)."""

    def fetch(
        self, start: datetime, end: datetime, position: int | str | None, budget_seconds: float
    ) -> Page: ...
