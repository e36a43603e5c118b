"""Secrets: inline values (local runs) or Secrets Manager names (AWS), cached per container.

If Secrets Manager is briefly unavailable, the last value read is used; with none cached the
call fails with SecretsUnavailable (a 5xx), never as a signature failure (a 401).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from functions.errors import SecretsUnavailable
from functions.models.config import SecretRef, SecretValue
from functions.observability import logger

CACHE_SECONDS = 300


def _powertools_fetch(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters  # lazy: only AWS-backed configs pay for it

    value = parameters.get_secret(name, max_age=CACHE_SECONDS)
    return value if isinstance(value, str) else value.decode()


class SecretResolver:
    def __init__(self, fetch: Callable[[str], str] = _powertools_fetch) -> None:
        self._fetch = fetch
        self._last_known: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, value: SecretValue) -> str:
        if isinstance(value, str):
            return value
        return self._from_manager(value)

    def resolve_all(self, values: Sequence[SecretValue]) -> list[str]:
        return [self.resolve(value) for value in values]

    def _from_manager(self, ref: SecretRef) -> str:
        name = ref.secrets_manager
        try:
            secret = self._fetch(name)
        except Exception as error:  # any failure to read: fall back to the last value we had
            with self._lock:
                cached = self._last_known.get(name)
            if cached is None:
                logger.error("secret unavailable and not cached", extra={"secret_name": name})
                raise SecretsUnavailable("a secret could not be read; retry later") from error
            logger.warning(
                "secret read failed; using cached value",
                extra={"secret_name": name, "error": type(error).__name__},
            )
            return cached
        with self._lock:
            self._last_known[name] = secret
        return secret
