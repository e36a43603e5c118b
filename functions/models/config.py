"""The hub's configuration: connections and API keys, one JSON schema for local and AWS.

Secret values are either inline strings (local runs) or ``{"secretsManager": "<name>"}``
references (AWS). API keys are kept only as SHA-256 hashes once loaded.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from functions.models.api_keys import hash_api_key  # also imported from here by the CLI and tests
from functions.models.hmac_settings import HmacSettings


class Provider(StrEnum):
    KLAVI = "klavi"
    EXA = "exa"
    EXTEND = "extend"
    STANDARD_WEBHOOKS = "standard-webhooks"
    VAI = "vai"
    HMAC = "hmac"  # any HMAC-signing sender, described by the connection's ``hmac`` block


WEBHOOK_PROVIDERS = frozenset(
    {Provider.KLAVI, Provider.EXA, Provider.EXTEND, Provider.STANDARD_WEBHOOKS, Provider.HMAC}
)
POLL_PROVIDERS = frozenset({Provider.KLAVI, Provider.EXA, Provider.VAI})


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class SecretRef(_Model):
    secrets_manager: Annotated[str, AfterValidator(_not_blank)]


def _secret_not_blank(value: Any) -> Any:
    """A secret (or a secret's name) that is empty or only whitespace is refused: an HMAC keyed
    with it is one anybody can compute. Checked before the union, so the error names the field
    once; it never echoes the value."""
    if isinstance(value, dict):
        name = value.get("secretsManager", value.get("secrets_manager"))
        if isinstance(name, str) and not name.strip():
            raise ValueError("secretsManager must not be blank")
    elif isinstance(value, str) and not value.strip():
        raise ValueError("a secret must not be blank")
    return value


SecretValue = Annotated[str | SecretRef, BeforeValidator(_secret_not_blank)]


# An artifactHosts entry: a host glob (letters, digits, ``-_.``, ``*``, ``?``), and optionally the
# one port it admits (``files.example.com:8443``); without one, only the scheme's default port.
_HOST_PATTERN = re.compile(r"^[A-Za-z0-9*?_.-]+(?::([0-9]{1,5}))?$")


def _host_pattern(value: str) -> str:
    match = _HOST_PATTERN.match(value)
    if match is None or (match.group(1) is not None and not 1 <= int(match.group(1)) <= 65_535):
        raise ValueError("must be a host pattern such as *.example.com, optionally with :port (1-65535)")
    return value


ArtifactHost = Annotated[str, AfterValidator(_host_pattern)]


def _ip_network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(
            "must be an IP address or a CIDR block with its host bits clear (18.230.43.17, 10.0.0.0/24)"
        ) from None
    return value


# An allowedSourceIps entry: one address or one network, IPv4 or IPv6.
SourceNetwork = Annotated[str, AfterValidator(_ip_network)]

# A Standard Webhooks public key: ``whpk_`` and the base64 of a 32-byte ed25519 key.
_PUBLIC_KEY = re.compile(r"^whpk_[A-Za-z0-9+/]{43}=?$")


def _public_key(value: str) -> str:
    if not _PUBLIC_KEY.match(value.strip()):
        raise ValueError("must be a Standard Webhooks public key: whpk_ and 32 bytes in base64")
    return value.strip()


PublicKey = Annotated[str, AfterValidator(_public_key)]


class PollConfig(_Model):
    base_url: str = Field(min_length=1)
    every_seconds: int = Field(default=300, ge=1)
    since: datetime | None = None
    # Klavi's credential is a secretKey, VAI's and Exa's an API key.
    secret_key: SecretValue | None = None
    api_key: SecretValue | None = None
    path: str | None = None
    lookback_seconds: int = Field(default=300, ge=0)
    page_size: int = Field(default=100, ge=1, le=100)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("baseUrl must be an http(s) URL")
        return value.rstrip("/")

    @property
    def credential(self) -> SecretValue | None:
        return self.secret_key or self.api_key


class Connection(_Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    provider: Provider
    tenant_id: str = Field(min_length=1)
    secrets: list[SecretValue] = Field(default_factory=list)
    poll: PollConfig | None = None
    artifact_hosts: list[ArtifactHost] | None = None
    # Webhooks only: the source addresses a delivery may come from (None: any).
    allowed_source_ips: list[SourceNetwork] | None = Field(default=None, min_length=1)
    # provider "hmac" only: how the sender signs and where its event id and type are.
    hmac: HmacSettings | None = None
    # provider "standard-webhooks" only: ed25519 public keys verifying v1a signatures. They are
    # not secrets, so they may be written inline even in a deployed configuration.
    public_keys: list[PublicKey] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _provider_capabilities(self) -> Connection:
        if self.poll is not None:
            if self.provider not in POLL_PROVIDERS:
                raise ValueError(f"connection {self.id!r}: provider {self.provider} cannot be polled")
            if self.poll.credential is None:
                field = "secretKey" if self.provider is Provider.KLAVI else "apiKey"
                raise ValueError(f"connection {self.id!r}: poll needs {field}")
        if self.secrets and self.provider not in WEBHOOK_PROVIDERS:
            raise ValueError(f"connection {self.id!r}: provider {self.provider} does not send webhooks")
        if (self.provider is Provider.HMAC) != (self.hmac is not None):
            raise ValueError(f"connection {self.id!r}: an 'hmac' block goes with provider hmac, only")
        if self.public_keys is not None and self.provider is not Provider.STANDARD_WEBHOOKS:
            raise ValueError(f"connection {self.id!r}: publicKeys applies to standard-webhooks connections")
        if self.provider is Provider.HMAC and not self.secrets:
            raise ValueError(f"connection {self.id!r}: an hmac connection needs 'secrets'")
        if self.poll is None and not self.receives_webhooks:
            raise ValueError(f"connection {self.id!r}: needs webhook 'secrets' or a 'poll' object")
        if self.allowed_source_ips is not None and not self.receives_webhooks:
            raise ValueError(
                f"connection {self.id!r}: allowedSourceIps applies to webhooks; it needs 'secrets'"
            )
        return self

    @property
    def receives_webhooks(self) -> bool:
        return bool(self.secrets or self.public_keys)


class ApiKey(_Model):
    tenant_id: str = Field(min_length=1)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    key: str | None = Field(default=None, min_length=8)
    key_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _one_of_key_or_hash(self) -> ApiKey:
        if (self.key is None) == (self.key_hash is None):
            raise ValueError("an API key needs exactly one of 'key' or 'keyHash'")
        return self

    @property
    def digest(self) -> str:
        return self.key_hash or hash_api_key(self.key or "")


class ForwardingConfig(_Model):
    """Stack settings of the event bus every stored event is published to."""

    enabled: bool = True
    archive_days: int = Field(default=30, ge=0)  # 0: no archive (no replay)


class ObservabilityConfig(_Model):
    """Stack settings of what the functions report beyond logs and metrics."""

    # X-Ray active tracing on every function and the API stage. Off by default: Lambda samples
    # 1 request a second and 5% of the rest, which at a million events a month traces nearly
    # every invocation ($5.00 per million traces; docs/performance.md).
    tracing: bool = False


class HubConfig(_Model):
    connections: list[Connection] = Field(default_factory=list)
    forwarding: ForwardingConfig = Field(default_factory=ForwardingConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    api_keys: list[ApiKey] = Field(default_factory=list)
    allow_loopback_artifacts: bool = False
    max_artifact_bytes: int = Field(default=5 * 1024**3, ge=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> HubConfig:
        seen: set[str] = set()
        for connection in self.connections:
            if connection.id in seen:
                raise ValueError(f"connection id {connection.id!r} appears twice")
            seen.add(connection.id)
        return self

    def connection(self, connection_id: str) -> Connection | None:
        return next((c for c in self.connections if c.id == connection_id), None)

    def tenant_for_key_hash(self) -> dict[str, str]:
        return {api_key.digest: api_key.tenant_id for api_key in self.api_keys}

    def tenant_for(self, key_hash: str) -> str | None:
        return self.tenant_for_key_hash().get(key_hash)

    def for_functions(self) -> HubConfig:
        """The config as functions receive it: API keys reduced to their hashes."""
        keys = [ApiKey(tenant_id=k.tenant_id, key_hash=k.digest) for k in self.api_keys]
        return self.model_copy(update={"api_keys": keys})

    def inline_secrets(self) -> list[str]:
        """Connection ids whose secrets are written inline (refused when deploying)."""
        found = []
        for c in self.connections:
            values: list[Any] = [*c.secrets, c.poll.credential if c.poll else None]
            if any(isinstance(v, str) for v in values):
                found.append(c.id)
        return found

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class ConfigError(ValueError):
    """An invalid configuration. The message names each bad field and never echoes a value."""


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"])
        lines.append(f"  {where.lstrip('.') or '(top level)'}: {problem['msg']}")
    return "\n".join(lines)


def load_config(path: str | Path) -> HubConfig:
    text = Path(path).read_text(encoding="utf-8")
    try:
        return HubConfig.model_validate_json(text)
    except ValidationError as error:
        raise ConfigError(f"{path}: invalid configuration:\n{_describe(error)}") from None


def parse_config(text: str) -> HubConfig:
    try:
        return HubConfig.model_validate_json(text)
    except ValidationError as error:
        raise ConfigError(f"invalid configuration:\n{_describe(error)}") from None
