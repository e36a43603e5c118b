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


def test_artifact_hosts_may_name_the_port_they_admit() -> None:
    # Given host patterns, one of them naming its port
    hosts = ["*.example.com", "f.example.com:8443"]
    # When the config is read
    config = parse_config(json.dumps({"connections": [webhook(artifactHosts=hosts)]}))
    # Then both are kept as written
    assert config.connections[0].artifact_hosts == hosts


def test_allowed_source_ips_take_addresses_and_networks_of_both_families() -> None:
    # Given Klavi's two published addresses, a network and an IPv6 network
    ips = ["18.230.43.17", "18.231.92.86", "10.0.0.0/24", "2001:db8::/32"]
    # When the config is read
    config = parse_config(json.dumps({"connections": [webhook(provider="klavi", allowedSourceIps=ips)]}))
    # Then they are kept as written, and a connection without the setting has none
    assert config.connections[0].allowed_source_ips == ips
    assert parse_config(json.dumps({"connections": [webhook()]})).connections[0].allowed_source_ips is None


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
            "connections[0].provider: Input should be "
            "'klavi', 'exa', 'extend', 'standard-webhooks', 'vai' or 'hmac'",
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
        (
            {"connections": [webhook(secrets=[" "])]},
            "connections[0].secrets[0]: Value error, a secret must not be blank",
        ),
        (
            {"connections": [webhook(secrets=[SECRET, "\t\n "])]},
            "connections[0].secrets[1]: Value error, a secret must not be blank",
        ),
        (
            {"connections": [webhook(secrets=[{"secretsManager": "  "}])]},
            "connections[0].secrets[0]: Value error, secretsManager must not be blank",
        ),
        (
            {
                "connections": [
                    webhook(
                        provider="klavi",
                        secrets=[],
                        poll={"baseUrl": "https://api.klavi.ai", "secretKey": " "},
                    )
                ]
            },
            "connections[0].poll.secretKey: Value error, a secret must not be blank",
        ),
        (
            {"connections": [webhook(artifactHosts=["files.example.com:99999"])]},
            "connections[0].artifactHosts[0]: Value error, must be a host pattern",
        ),
        (
            {"connections": [webhook(artifactHosts=["*.example.com", "files example.com"])]},
            "connections[0].artifactHosts[1]: Value error, must be a host pattern",
        ),
        (
            {"connections": [webhook(allowedSourceIps=["18.230.43.17", "klavi.ai"])]},
            "connections[0].allowedSourceIps[1]: Value error, must be an IP address or a CIDR block",
        ),
        (
            {"connections": [webhook(allowedSourceIps=["10.0.0.1/8"])]},
            "connections[0].allowedSourceIps[0]: Value error, must be an IP address or a CIDR block",
        ),
        (
            {"connections": [webhook(allowedSourceIps=["18.230.43.17/33"])]},
            "connections[0].allowedSourceIps[0]: Value error, must be an IP address or a CIDR block",
        ),
        (
            {"connections": [webhook(allowedSourceIps=[])]},
            "connections[0].allowedSourceIps: List should have at least 1 item",
        ),
        (
            {
                "connections": [
                    webhook(
                        provider="vai",
                        secrets=[],
                        poll={"baseUrl": "https://vai.example", "apiKey": "k"},
                        allowedSourceIps=["18.230.43.17"],
                    )
                ]
            },
            "allowedSourceIps applies to webhooks",
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
        "blank-secret",
        "whitespace-secret-beside-a-good-one",
        "blank-secrets-manager-name",
        "blank-poll-secret-key",
        "artifact-host-port-out-of-range",
        "artifact-host-with-a-space",
        "source-ip-not-an-address",
        "source-network-with-host-bits",
        "source-network-prefix-too-long",
        "source-ips-empty",
        "source-ips-on-a-pull-connection",
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
