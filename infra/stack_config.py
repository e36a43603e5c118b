"""The hub configuration as the stack reads it at synth time, and the checks a deployment needs.

The same JSON schema as a local run (``functions.models.config``), but for AWS: secrets are
Secrets Manager names, never values, and the loopback-artifact switch for one-machine runs is off.
A config must be named explicitly: there is no fallback to the committed example.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from functions.models.config import Connection, HubConfig, SecretRef, load_config
from infra import constants as c


class StackConfigError(ValueError):
    """The configuration cannot be deployed; the message says why and what to change."""


NO_CONFIG_MESSAGE = (
    "no stack config given. Name one with `-c config=PATH` (`make deploy STACK_CONFIG=PATH`, or "
    f"config/aws.json, which make picks up) or with the environment variable {c.CONFIG_ENV_VAR}=PATH. "
    "Start from config/aws.example.json (README: Deploy)."
)


def config_path(from_context: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """``-c config=PATH``, else ``$EVENTHUB_STACK_CONFIG``; there is no default, so a bare
    ``cdk deploy`` never deploys the example's tenants, keys and pollers."""
    chosen = from_context or environ.get(c.CONFIG_ENV_VAR)
    if not chosen:
        raise StackConfigError(NO_CONFIG_MESSAGE)
    path = Path(str(chosen))
    return path if path.is_absolute() else (Path.cwd() / path)


def create_account_role(from_context: object) -> bool:
    """``-c apiGatewayAccountRole=create`` (default) or ``=existing``."""
    value = str(from_context or "create").strip().lower()
    if value not in ("create", "existing"):
        raise StackConfigError(
            f"-c {c.ACCOUNT_ROLE_CONTEXT_KEY}={from_context}: use 'create' (the stack sets API Gateway's "
            "account CloudWatch role) or 'existing' (the account already has one)"
        )
    return value == "create"


def load_stack_config(path: Path) -> HubConfig:
    if not path.is_file():
        raise StackConfigError(f"stack config {path} not found (set -c config=PATH or {c.CONFIG_ENV_VAR})")
    try:
        config = load_config(path)
    except ValueError as error:
        raise StackConfigError(str(error)) from None
    check_deployable(config, path)
    return config


def check_deployable(config: HubConfig, path: Path | str = "config") -> None:
    if config.allow_loopback_artifacts:
        raise StackConfigError(
            f"{path}: allowLoopbackArtifacts is true. It admits plain-HTTP artifact URLs on "
            "127.0.0.1/localhost and exists for one-machine runs only; remove it (or set it to false) "
            "to deploy."
        )
    inline = config.inline_secrets()
    if inline:
        raise StackConfigError(
            f"{path}: connection(s) {', '.join(inline)} hold secret values inline. In AWS every webhook "
            'secret and poll credential must name a Secrets Manager secret: {"secretsManager": "<name>"}.'
        )
    size = len(function_config_json(config).encode())
    if size > c.CONFIG_ENV_LIMIT_BYTES:
        raise StackConfigError(
            f"{path}: the configuration the functions receive (EVENTHUB_CONFIG) is {size} bytes. Lambda "
            f"allows {c.LAMBDA_ENV_LIMIT_BYTES} bytes of environment variables per function, and the "
            f"configuration may use at most {c.CONFIG_ENV_LIMIT_BYTES} of them. Split the connections "
            "over several stacks or shorten ids and secret names."
        )


def function_config_json(config: HubConfig) -> str:
    """What functions get in EVENTHUB_CONFIG: secret names and API-key hashes, no values."""
    return config.for_functions().to_json()


def _names(values: list[Any]) -> list[str]:
    return [v.secrets_manager for v in values if isinstance(v, SecretRef)]


def webhook_secret_names(config: HubConfig) -> list[str]:
    """Secrets the intake function reads: every connection's webhook signing secrets."""
    return sorted({name for conn in config.connections for name in _names(list(conn.secrets))})


def poll_secret_names(config: HubConfig) -> list[str]:
    """Secrets the poller reads: the credentials of poll connections."""
    return sorted({name for conn in poll_connections(config) for name in _names([conn.poll.credential])})  # type: ignore[union-attr]


def webhook_output_ids(config: HubConfig) -> dict[str, Connection]:
    """``Webhook<ConnectionId>Url`` output ids (ids in PascalCase, letters and digits only) of the
    connections that receive webhooks; two ids that would give the same output are refused."""
    found: dict[str, Connection] = {}
    for connection in config.connections:
        if not connection.receives_webhooks:
            continue
        words = re.split(r"[^A-Za-z0-9]+", connection.id)
        output_id = "Webhook" + "".join(w[:1].upper() + w[1:] for w in words) + "Url"
        if output_id in found:
            raise StackConfigError(
                f"connections {found[output_id].id!r} and {connection.id!r} would share the stack output "
                f"{output_id}; rename one"
            )
        found[output_id] = connection
    return found


def poll_connections(config: HubConfig) -> list[Connection]:
    return [conn for conn in config.connections if conn.poll is not None]
