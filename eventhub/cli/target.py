"""Which stack the command line talks to, and with which API key: --api-url/--api-key, a
``cdk deploy --outputs-file`` JSON (--stack-outputs), a deployed stack's outputs read with AWS
credentials (--stack/--profile/--region), or the local stack with a key from its configuration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eventhub.cli.errors import EXIT_AUTH, EXIT_BAD_INPUT, EXIT_NOT_FOUND, CliError

DEFAULT_API_URL = "http://127.0.0.1:3000"
DEFAULT_CONFIG = Path("config/local.json")


@dataclass(frozen=True)
class Target:
    api_url: str
    api_key: str
    origin: str  # how the target was found, for messages (never the key itself)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def url_from_outputs(outputs: dict[str, Any], source: str) -> str:
    """The query API's base URL among a stack's outputs (``cdk deploy --outputs-file`` shape:
    ``{stack: {key: value}}``, or a flat ``{key: value}``)."""
    flat: dict[str, str] = {}
    for key, value in outputs.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items() if isinstance(v, str)})
        elif isinstance(value, str):
            flat[key] = value
    urls = {k: v for k, v in flat.items() if v.startswith(("https://", "http://"))}

    def rank(key: str) -> int:
        name = key.rsplit(".", 1)[-1].lower()
        if "query" in name and "url" in name:
            return 0
        if "api" in name and "url" in name and "webhook" not in name:
            return 1
        return 2

    ranked = sorted((rank(k), k) for k in urls if rank(k) < 2)
    if not ranked:
        raise CliError(f"{source}: no query API URL among the stack outputs ({', '.join(flat) or 'none'})")
    return urls[ranked[0][1]].rstrip("/")


def outputs_of_stack(stack_name: str, profile: str | None, region: str | None) -> dict[str, str]:
    """A deployed stack's outputs, read with the caller's AWS credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        exit_code = EXIT_NOT_FOUND if code == "ValidationError" else EXIT_AUTH
        raise CliError(f"cannot read the outputs of stack {stack_name!r}: {error}", exit_code) from None
    except BotoCoreError as error:  # no credentials, no region, no network
        raise CliError(f"cannot read the outputs of stack {stack_name!r}: {error}", EXIT_AUTH) from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def key_from_config(config_path: Path, tenant: str | None) -> str:
    """The first inline API key of ``tenant`` (or of the first key's tenant) in a local config."""
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(
            f"missing credentials: {config_path} not found; pass --config, --api-key or set EVENTHUB_API_KEY",
            EXIT_AUTH,
        ) from None
    except (OSError, ValueError) as error:
        raise CliError(f"{config_path}: cannot read the configuration ({error})", EXIT_BAD_INPUT) from None
    keys = [k for k in document.get("apiKeys", []) if isinstance(k, dict) and k.get("key")]
    if tenant is not None:
        keys = [k for k in keys if k.get("tenantId") == tenant]
    if not keys:
        which = f"tenant {tenant!r}" if tenant else "any tenant"
        raise CliError(
            f"missing credentials: {config_path} has no inline API key for {which}; pass --api-key",
            EXIT_AUTH,
        )
    return str(keys[0]["key"])


def resolve_target(
    *,
    api_url: str | None,
    api_key: str | None,
    tenant: str | None,
    config_path: Path,
    stack_outputs: Path | None,
    stack_name: str | None,
    profile: str | None,
    region: str | None,
) -> Target:
    origin = "--api-url"
    if api_url is None and stack_outputs is not None:
        try:
            outputs = json.loads(stack_outputs.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CliError(f"{stack_outputs}: cannot read stack outputs ({error})", EXIT_BAD_INPUT) from None
        if not isinstance(outputs, dict):
            raise CliError(f"{stack_outputs}: expected a JSON object of stack outputs", EXIT_BAD_INPUT)
        api_url, origin = url_from_outputs(outputs, str(stack_outputs)), str(stack_outputs)
    elif api_url is None and stack_name is not None:
        api_url = url_from_outputs(outputs_of_stack(stack_name, profile, region), f"stack {stack_name}")
        origin = f"stack {stack_name}"
    elif api_url is None:
        api_url, origin = DEFAULT_API_URL, "the local stack"
    if not api_url.startswith(("http://", "https://")):
        raise CliError(f"--api-url must be an http(s) URL, got {api_url!r}", EXIT_BAD_INPUT)
    if api_key is None:
        if not is_loopback(api_url):
            raise CliError(
                f"missing credentials: {api_url} needs an API key; pass --api-key or set EVENTHUB_API_KEY",
                EXIT_AUTH,
            )
        api_key = key_from_config(config_path, tenant)
    return Target(api_url=api_url.rstrip("/"), api_key=api_key, origin=origin)
