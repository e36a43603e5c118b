"""What the options of ``connections add|update`` ask for, turned into a connection.

The options are laid over the connection the registry holds (nothing, for ``add``) as the config
file's JSON, then validated by ``functions.models.config.Connection``: its errors are listed by
field, never with a value. A connection's secrets, one per part it has (the webhook signing
secret, then the poll credential), come from ``--secret-stdin`` or ``--secret-name``: locally a
value read from stdin is kept inline, deployed it goes to Secrets Manager under a name derived
from the connection id and only ``{"secretsManager": name}`` is kept.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass, field
from typing import Any

from eventhub.cli.errors import EXIT_BAD_INPUT, CliError
from eventhub.cli.registry_target import POLL_CREDENTIAL, SIGNING_SECRET, SecretsWriter

WEBHOOK, POLL = "webhook", "poll"
PART_SECRETS = {WEBHOOK: SIGNING_SECRET, POLL: POLL_CREDENTIAL}
PART_LABELS = {WEBHOOK: "signing secret", POLL: "poll credential"}


@dataclass(frozen=True)
class Spec:
    """The options of one ``add`` or ``update`` (None: not given, keep what there is)."""

    connection_id: str
    provider: str | None = None
    tenant: str | None = None
    webhook: bool | None = None
    poll_base_url: str | None = None
    every_seconds: int | None = None
    no_poll: bool = False
    artifact_hosts: list[str] | None = None
    secret_stdin: bool = False
    secret_names: list[str] = field(default_factory=list)
    hmac: str | None = None  # the hmac block as JSON text, or @path of a JSON file
    public_keys: list[str] | None = None


@dataclass(frozen=True)
class Built:
    connection: Any  # functions.models.config.Connection
    secret_writes: list[tuple[str, str]]  # (Secrets Manager name, value) to write first


def build(spec: Spec, existing: Any, writer: SecretsWriter | None) -> Built:
    """The connection ``spec`` asks for over ``existing`` (a Connection or None); CliError (exit 2)
    when the options or the result are not valid."""
    from pydantic import ValidationError

    from functions.models.config import Connection, _describe

    if spec.secret_stdin and spec.secret_names:
        raise CliError("give the secrets with --secret-stdin or --secret-name, not both", EXIT_BAD_INPUT)
    document = _overlay(spec, existing.model_dump(by_alias=True, exclude_none=True) if existing else {})
    parts = [part for part, present in ((WEBHOOK, "secrets" in document), (POLL, "poll" in document))
             if present]  # fmt: skip
    writes: list[tuple[str, str]] = []
    if spec.secret_stdin or spec.secret_names:
        values = _secrets_for(spec, parts, writer, writes)
        for part, value in zip(parts, values, strict=True):
            _place(document, part, value)
    else:
        missing = [PART_LABELS[p] for p in parts if not _has_secret(document, p)]
        if missing:
            raise CliError(
                f"connection {spec.connection_id!r} needs its {' and '.join(missing)}: "
                "pass --secret-stdin (or --secret-name NAME for a secret that exists)",
                EXIT_BAD_INPUT,
            )
    try:
        connection = Connection.model_validate(document)
    except ValidationError as error:
        raise CliError(f"invalid connection:\n{_describe(error)}", EXIT_BAD_INPUT) from None
    return Built(connection, writes)


def _overlay(spec: Spec, document: dict[str, Any]) -> dict[str, Any]:
    document["id"] = spec.connection_id
    if spec.provider is not None:
        document["provider"] = spec.provider
    if spec.tenant is not None:
        document["tenantId"] = spec.tenant
    if not document.get("secrets"):
        document.pop("secrets", None)  # present (even empty) means: receives webhooks
    if spec.webhook is True:
        document.setdefault("secrets", [])
    elif spec.webhook is False:
        document.pop("secrets", None)
    if spec.no_poll:
        if spec.poll_base_url is not None or spec.every_seconds is not None:
            raise CliError("--no-poll goes without --poll-base-url and --every-seconds", EXIT_BAD_INPUT)
        document.pop("poll", None)
    elif spec.poll_base_url is not None or spec.every_seconds is not None:
        poll = dict(document.get("poll") or {})
        if spec.poll_base_url is not None:
            poll["baseUrl"] = spec.poll_base_url
        if spec.every_seconds is not None:
            poll["everySeconds"] = spec.every_seconds
        document["poll"] = poll
    if "poll" in document:  # Klavi's credential is a secretKey, VAI's and Exa's an apiKey
        credential = document["poll"].pop("secretKey", None) or document["poll"].pop("apiKey", None)
        if credential is not None:
            document["poll"][_credential_field(document)] = credential
    if spec.artifact_hosts is not None:
        document["artifactHosts"] = spec.artifact_hosts
    if spec.hmac is not None:
        document["hmac"] = _json_object(spec.hmac, "--hmac")
    if spec.public_keys is not None:
        document["publicKeys"] = spec.public_keys
    return document


def _json_object(text: str, option: str) -> dict[str, Any]:
    """A JSON object given inline or as ``@path``; CliError (exit 2) naming the option otherwise."""
    import json
    from pathlib import Path

    try:
        value = json.loads(Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text)
    except OSError as error:
        raise CliError(f"{option}: cannot read {text[1:]}: {error.strerror}", EXIT_BAD_INPUT) from None
    except ValueError as error:
        raise CliError(f"{option} is not JSON: {error}", EXIT_BAD_INPUT) from None
    if not isinstance(value, dict):
        raise CliError(f"{option} must be a JSON object", EXIT_BAD_INPUT)
    return value


def _credential_field(document: dict[str, Any]) -> str:
    return "secretKey" if document.get("provider") == "klavi" else "apiKey"


def _has_secret(document: dict[str, Any], part: str) -> bool:
    if part == WEBHOOK:
        return bool(document.get("secrets"))
    poll = document.get("poll") or {}
    return poll.get("secretKey") is not None or poll.get("apiKey") is not None


def _place(document: dict[str, Any], part: str, value: Any) -> None:
    if part == WEBHOOK:
        document["secrets"] = [value]  # a second secret (rotation) is for the config file
    else:
        document["poll"].pop("secretKey", None)
        document["poll"].pop("apiKey", None)
        document["poll"][_credential_field(document)] = value


def _secrets_for(
    spec: Spec, parts: list[str], writer: SecretsWriter | None, writes: list[tuple[str, str]]
) -> list[Any]:
    """One secret per part, in order: a Secrets Manager reference, or locally the value itself."""
    labels = [PART_LABELS[p] for p in parts]
    if not parts:
        raise CliError("the connection has neither a webhook nor a poll to take a secret", EXIT_BAD_INPUT)
    if spec.secret_names:
        if len(spec.secret_names) != len(parts):
            raise CliError(
                f"expected {len(parts)} --secret-name ({', then '.join(labels)}), "
                f"got {len(spec.secret_names)}",
                EXIT_BAD_INPUT,
            )
        return [{"secretsManager": name} for name in spec.secret_names]
    values = read_secrets(labels)
    if writer is None:
        return values  # the local stack keeps its secrets inline
    references = []
    for part, value in zip(parts, values, strict=True):
        name = writer.name_for(spec.connection_id, PART_SECRETS[part])
        writes.append((name, value))
        references.append({"secretsManager": name})
    return references


def read_secrets(labels: list[str]) -> list[str]:
    """One value per label: prompted without echo on a terminal, else one line each from stdin."""
    stream = sys.stdin
    if stream.isatty():
        values = [getpass.getpass(f"{label}: ") for label in labels]
    else:
        values = [line for line in stream.read().splitlines() if line.strip()]
    if len(values) != len(labels) or not all(values):
        raise CliError(
            f"--secret-stdin: expected {len(labels)} non-empty line(s) on stdin "
            f"({', then '.join(labels)}), got {len(values)}",
            EXIT_BAD_INPUT,
        )
    return values
