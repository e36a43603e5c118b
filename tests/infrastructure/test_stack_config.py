"""What the stack accepts as configuration at synth time, and what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import constants as c
from infra.app import build_app
from infra.stack_config import StackConfigError, config_path, load_stack_config
from tests.infrastructure.conftest import EXAMPLE_CONFIG, ROOT, SKIP_BUNDLING


def _example() -> dict[str, Any]:
    return json.loads(EXAMPLE_CONFIG.read_text())


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "aws.json"
    path.write_text(json.dumps(document))
    return path


def test_example_config_names_secrets_for_all_five_providers() -> None:
    # When the example stack configuration is loaded
    config = load_stack_config(EXAMPLE_CONFIG)
    # Then it has a connection for each of the five providers
    assert {conn.provider.value for conn in config.connections} == {
        "klavi", "exa", "extend", "standard-webhooks", "vai"
    }  # fmt: skip
    # And holds no secret inline, only the names of secrets
    assert config.inline_secrets() == []
    # And polls Klavi, VAI and Exa
    assert {conn.provider.value for conn in config.connections if conn.poll} == {"klavi", "vai", "exa"}
    # And holds only the API keys' hashes
    assert config.api_keys
    assert all(key.key is None and key.key_hash for key in config.api_keys)


def test_synth_refuses_the_loopback_artifact_switch(tmp_path: Path) -> None:
    # Given the example configuration with the loopback artifact switch on
    path = _write(tmp_path, {**_example(), "allowLoopbackArtifacts": True})
    # When the app is built from it
    # Then synthesis is refused, naming the switch
    with pytest.raises(StackConfigError, match="allowLoopbackArtifacts is true"):
        build_app({**SKIP_BUNDLING, "config": str(path)}, nag=False)


def test_synth_refuses_an_inline_webhook_secret_and_names_the_connection(tmp_path: Path) -> None:
    # Given the example configuration with a webhook secret's value inline in a connection
    document = _example()
    document["connections"][0]["secrets"] = ["whsec_inline_value"]
    path = _write(tmp_path, document)
    # When it is loaded
    # Then it is refused, naming the connection
    with pytest.raises(StackConfigError, match="extend-prod hold secret values inline") as raised:
        load_stack_config(path)
    # And the secret's value is not in the message
    assert "whsec_inline_value" not in str(raised.value)


def test_synth_refuses_an_inline_poll_credential(tmp_path: Path) -> None:
    # Given the example configuration with a Klavi poll credential inline
    document = _example()
    klavi = next(conn for conn in document["connections"] if conn["id"] == "klavi-prod")
    klavi["poll"]["secretKey"] = "klavi-inline-secret"
    # When it is loaded
    # Then it is refused, naming the connection
    with pytest.raises(StackConfigError, match="klavi-prod"):
        load_stack_config(_write(tmp_path, document))


def test_a_thousand_connections_synthesize_the_same_template_as_five(tmp_path: Path) -> None:
    # Given the example config, and the same with a thousand more webhook connections
    document = _example()
    template = document["connections"][-1]
    many = {
        **document,
        "connections": document["connections"]
        + [
            {**template, "id": f"partner-{n:04d}", "secrets": [{"secretsManager": f"eventhub/p{n}/s"}]}
            for n in range(1000)
        ],
    }
    # When both are synthesized
    small = build_app({**SKIP_BUNDLING, "config": str(_write(tmp_path, document))}, nag=False)[0]
    (tmp_path / "many").mkdir()
    large = build_app({**SKIP_BUNDLING, "config": str(_write(tmp_path / "many", many))}, nag=False)[0]
    # Then the templates are the same: connections live in the registry, not in the stack
    assert _template(small) == _template(large)


def _template(app: Any) -> dict:
    return app.synth().stacks[0].template


def test_a_secret_outside_the_hubs_prefix_is_refused(tmp_path: Path) -> None:
    # Given a connection whose secret the functions' grant would not cover
    document = _example()
    document["connections"][0]["secrets"] = [{"secretsManager": "other-team/extend/secret"}]
    # Then synthesis says which connection, and why
    with pytest.raises(StackConfigError, match="extend-prod.*outside 'eventhub/'"):
        load_stack_config(_write(tmp_path, document))


def test_a_missing_or_invalid_config_is_reported_with_its_path(tmp_path: Path) -> None:
    # When a configuration that does not exist is loaded
    # Then it is refused as not found
    with pytest.raises(StackConfigError, match="not found"):
        load_stack_config(tmp_path / "absent.json")
    # When a configuration with an unknown provider is loaded
    broken = _write(tmp_path, {"connections": [{"id": "x", "provider": "nope", "tenantId": "t"}]})
    # Then it is refused as invalid
    with pytest.raises(StackConfigError, match="invalid configuration"):
        load_stack_config(broken)


def test_config_path_prefers_context_then_environment() -> None:
    # When the configuration path is given both as context and in the environment
    # Then the context's wins, relative to the working directory
    assert config_path("a.json", {c.CONFIG_ENV_VAR: "b.json"}) == Path.cwd() / "a.json"
    # When it is given in the environment alone
    # Then that path is used
    assert config_path(None, {c.CONFIG_ENV_VAR: "/abs/b.json"}) == Path("/abs/b.json")


def test_synthesis_without_a_config_stops_and_names_both_ways_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no -c config and no EVENTHUB_STACK_CONFIG (a bare `npx cdk deploy`)
    monkeypatch.delenv(c.CONFIG_ENV_VAR, raising=False)
    env = {k: v for k, v in os.environ.items() if k != c.CONFIG_ENV_VAR}
    env["CDK_OUTDIR"] = str(tmp_path / "out")
    # When the app runs
    with pytest.raises(StackConfigError) as raised:
        build_app(dict(SKIP_BUNDLING), nag=False)
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "app.py")], env=env, capture_output=True, text=True, timeout=120
    )
    # Then nothing is synthesized (the example is never deployed by default), and the message says how
    for message in (str(raised.value), result.stderr):
        assert "-c config=PATH" in message and c.CONFIG_ENV_VAR in message
    assert result.returncode == 2
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_an_unknown_account_role_choice_is_refused() -> None:
    # When the app is built with an account role choice it does not know
    # Then it is refused, naming the choice
    with pytest.raises(StackConfigError, match="apiGatewayAccountRole=maybe"):
        build_app(
            {**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG), "apiGatewayAccountRole": "maybe"}, nag=False
        )


def test_cdk_json_runs_the_app_through_make_so_a_fresh_clone_creates_its_virtualenv(tmp_path: Path) -> None:
    # Given cdk.json's app command
    app = json.loads((ROOT / "cdk.json").read_text())["app"]
    assert ".venv" not in app and app.split()[0] == "make" and app.split()[-1] == "cdk-app"
    # When make is asked what it would run for it in a checkout without a virtualenv
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), "cdk-app", f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Then it creates the virtualenv and installs the project before running the app
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(f"-m venv {venv}" in line for line in lines)
    assert any("pip install" in line for line in lines)
    assert lines[-1].endswith("infra/app.py")


def test_app_script_exits_nonzero_with_a_clear_message_on_a_loopback_config(tmp_path: Path) -> None:
    # Given a config with the loopback switch on, passed the way `make synth` passes it
    path = _write(tmp_path, {**_example(), "allowLoopbackArtifacts": True})
    env = {**os.environ, c.CONFIG_ENV_VAR: str(path), "CDK_OUTDIR": str(tmp_path / "out")}
    # When the app runs as a script
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "app.py")], env=env, capture_output=True, text=True, timeout=120
    )
    # Then it stops before synthesizing, and says why
    assert result.returncode == 2
    assert "cannot synthesize the stack" in result.stderr
    assert "allowLoopbackArtifacts" in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_observability_tracing_turns_on_x_ray_for_every_function_and_the_stage(tmp_path: Path) -> None:
    # Given the example config with tracing on
    document = {**_example(), "observability": {"tracing": True}}
    # When it is synthesized
    template = _template(
        build_app({**SKIP_BUNDLING, "config": str(_write(tmp_path, document))}, nag=False)[0]
    )
    resources = template["Resources"].values()
    functions = [
        r["Properties"]
        for r in resources
        if r["Type"] == "AWS::Lambda::Function"
        and "functions.handlers." in r["Properties"].get("Handler", "")
    ]
    stages = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"
    ]
    # Then every function traces actively, with the X-Ray SDK on, and so does the API stage
    assert functions and all(f["TracingConfig"] == {"Mode": "Active"} for f in functions)
    assert all("POWERTOOLS_TRACE_DISABLED" not in f["Environment"]["Variables"] for f in functions)
    assert all(stage["TracingEnabled"] is True for stage in stages)
