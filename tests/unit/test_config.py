"""The configuration schema: what it accepts, and errors that say which field is wrong and why
without echoing any value (a secret must not reach a terminal or a CI log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.models.config import ConfigError, Provider, SecretRef, load_config, parse_config
from tests.conftest import LOCAL_CONFIG

SECRET = "s3cr3t-value-that-must-not-leak"


def webhook(**fields: Any) -> dict[str, Any]:
    return {"id": "conn-1", "provider": "exa", "tenantId": "acme", "secrets": [SECRET], **fields}


def problem_of(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps(document))
    return str(raised.value)


def test_the_committed_local_config_is_valid() -> None:
    # When the committed local config is loaded
    config = load_config(LOCAL_CONFIG)

    # Then it has connections for every push provider
    assert {c.provider for c in config.connections} >= {
        Provider.EXTEND,
        Provider.EXA,
        Provider.KLAVI,
        Provider.STANDARD_WEBHOOKS,
    }
    # And its Extend connections receive webhooks
    assert all(c.receives_webhooks for c in config.connections if c.provider is Provider.EXTEND)
    # And its API keys map to tenants
    assert config.tenant_for_key_hash()


def test_secrets_may_name_secrets_manager_entries_instead_of_values() -> None:
    # When a config whose webhook secret names a Secrets Manager entry is parsed
    config = parse_config(
        json.dumps({"connections": [webhook(secrets=[{"secretsManager": "eventhub/exa"}])]})
    )

    # Then the connection holds a reference to the entry
    assert config.connections[0].secrets == [SecretRef(secrets_manager="eventhub/exa")]
    # And no secret is inline
    assert config.inline_secrets() == []


def test_functions_receive_api_keys_only_as_hashes() -> None:
    # Given a config with an inline API key
    config = parse_config(json.dumps({"apiKeys": [{"key": "dev-key-acme-000000", "tenantId": "acme"}]}))

    # When the functions' part of it is serialized
    shipped = config.for_functions().to_json()

    # Then the key is not in it
    assert "dev-key-acme-000000" not in shipped
    # And its hash still maps to the same tenant
    assert parse_config(shipped).tenant_for_key_hash() == config.tenant_for_key_hash()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"connections": [webhook(provider="stripe")]},
            "connections[0].provider: Input should be 'klavi', 'exa', 'extend', 'standard-webhooks' or 'vai'",
        ),
        ({"connections": [webhook(), webhook()]}, "connection id 'conn-1' appears twice"),
        (
            {"connections": [webhook(secrets=[])]},
            "connection 'conn-1': needs webhook 'secrets' or a 'poll' object",
        ),
        (
            {"connections": [webhook(provider="vai")]},
            "connection 'conn-1': provider vai does not send webhooks",
        ),
        (
            {
                "connections": [
                    webhook(provider="extend", poll={"baseUrl": "https://api.extend.ai", "apiKey": "k"})
                ]
            },
            "provider extend cannot be polled",
        ),
        (
            {
                "connections": [
                    webhook(provider="klavi", secrets=[], poll={"baseUrl": "https://api.klavi.ai"})
                ]
            },
            "connection 'conn-1': poll needs secretKey",
        ),
        (
            {
                "connections": [
                    webhook(provider="vai", secrets=[], poll={"baseUrl": "ftp://x", "apiKey": "k"})
                ]
            },
            "connections[0].poll.baseUrl: Value error, baseUrl must be an http(s) URL",
        ),
        (
            {"connections": [webhook(secret=[SECRET])]},
            "connections[0].secret: Extra inputs are not permitted",
        ),
        ({"connections": [webhook(id="has space")]}, "connections[0].id: String should match pattern"),
        (
            {"connections": [webhook(tenantId="")]},
            "connections[0].tenantId: String should have at least 1 character",
        ),
        (
            {"apiKeys": [{"key": "short", "tenantId": "acme"}]},
            "apiKeys[0].key: String should have at least 8",
        ),
        (
            {"apiKeys": [{"key": SECRET, "keyHash": "0" * 64, "tenantId": "acme"}]},
            "apiKeys[0]: Value error, an API key needs exactly one of 'key' or 'keyHash'",
        ),
    ],
    ids=[
        "unknown-provider",
        "duplicate-id",
        "no-secrets-no-poll",
        "secrets-on-a-pull-only-provider",
        "poll-on-a-push-only-provider",
        "poll-without-credential",
        "poll-base-url-not-http",
        "misspelt-field",
        "bad-connection-id",
        "empty-tenant",
        "short-api-key",
        "key-and-hash",
    ],
)
def test_invalid_config_names_the_field_and_the_problem_without_echoing_values(
    document: dict[str, Any], expected: str
) -> None:
    # When an invalid config is parsed
    message = problem_of(document)

    # Then the error names the field and the problem
    assert expected in message
    # And holds none of the config's values
    assert SECRET not in message


def test_invalid_config_file_error_names_the_file(tmp_path: Path) -> None:
    # Given a config file that is not valid JSON
    path = tmp_path / "hub.json"
    path.write_text('{"connections": [,]}')

    # When it is loaded
    # Then it fails with a ConfigError, which is a ValueError
    with pytest.raises(ValueError) as raised:  # ConfigError is a ValueError: callers catch that
        load_config(path)

    assert isinstance(raised.value, ConfigError)
    # And the message names the file and the problem
    assert str(path) in str(raised.value)
    assert "Invalid JSON" in str(raised.value)
