"""Resolved secrets are checked before use: a blank or missing one never verifies anything.

The configuration refuses blank inline secrets, but a value read from Secrets Manager is only
known at run time. An HMAC keyed with an empty (or guessable whitespace) key is one anybody can
compute, so such a value is set aside with a metric (``SecretBlank``) and an error log naming
the connection; a connection left with no usable secret fails closed, as a server fault (503):
the sender retries, and nothing is verified until the secret is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence

from functions.errors import SecretsUnavailable
from functions.observability import logger, metrics


def usable_secrets(connection_id: str, values: Sequence[str | None]) -> list[str]:
    """The values that are real keys; SecretsUnavailable if none is."""
    usable: list[str] = []
    for position, value in enumerate(values):
        if isinstance(value, str) and value.strip():
            usable.append(value)
            continue
        metrics.add_metric(name="SecretBlank", unit="Count", value=1)
        logger.error(
            "a connection secret is blank or missing; it is not used",
            extra={"connection": connection_id, "secret_position": position},
        )
    if not usable:
        raise SecretsUnavailable(f"connection {connection_id!r} has no usable secret; retry later")
    return usable


def usable_secret(connection_id: str, value: str | None) -> str:
    """One credential (a poll connection's), checked the same way."""
    return usable_secrets(connection_id, [value])[0]
