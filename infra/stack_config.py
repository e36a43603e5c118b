"""The hub configuration as the stack reads it at synth time, and the checks a deployment needs.

The same JSON schema as a local run (``functions.models.config``), but for AWS: secrets are
Secrets Manager names, never values, and the loopback-artifact switch for one-machine runs is off.
A config must be named explicitly: there is no fallback to the committed example.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from functions.models.config import HubConfig, SecretRef, load_config
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


def intake_concurrency(from_context: object) -> int | None:
    """``-c intakeConcurrency=N`` (default ``INTAKE_RESERVED_CONCURRENCY``), or ``=unreserved``."""
    if from_context is None or from_context == "":
        return c.INTAKE_RESERVED_CONCURRENCY
    value = str(from_context).strip().lower()
    if value == "unreserved":
        return None
    if not value.isdigit() or int(value) < 1:
        raise StackConfigError(
            f"-c {c.INTAKE_CONCURRENCY_CONTEXT_KEY}={from_context}: use a whole number of at least 1 "
            "(the intake's reserved concurrency, which bounds its function URL) or 'unreserved'"
        )
    return int(value)


def query_snap_start(from_context: object) -> bool:
    """``-c querySnapStart=on`` (SnapStart on the query function) or ``=off`` (default)."""
    value = str(from_context if from_context is not None else "off").strip().lower()
    if value in ("on", "true"):
        return True
    if value in ("off", "false", ""):
        return False
    raise StackConfigError(
        f"-c {c.QUERY_SNAP_START_CONTEXT_KEY}={from_context}: use 'on' (SnapStart on the query function, "
        "billed per cached version and per restore: docs/performance.md) or 'off'"
    )


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
    outside = secrets_outside_prefix(config)
    if outside:
        raise StackConfigError(
            f"{path}: connection(s) {', '.join(outside)} name secrets outside {c.SECRET_PREFIX!r}. The "
            f"functions may read only secrets whose names start with {c.SECRET_PREFIX!r}; rename them."
        )


def _names(values: list[Any]) -> list[str]:
    return [v.secrets_manager for v in values if isinstance(v, SecretRef)]


def secrets_outside_prefix(config: HubConfig) -> list[str]:
    """Connection ids naming a Secrets Manager secret the functions may not read."""
    found = []
    for conn in config.connections:
        names = _names([*conn.secrets, conn.poll.credential if conn.poll else None])
        if any(not name.startswith(c.SECRET_PREFIX) for name in names):
            found.append(conn.id)
    return found
