"""`eventhub config apply FILE [--prune] [--dry-run]` on a running local stack: the file's plan,
applied once (a second run plans nothing), pruning only what the file no longer names, and a
bad file refused whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventhub import cli
from tests.conftest import LOCAL_CONFIG, sensitive
from tests.integration.registry.conftest import eventhub, query_status

NEW_KEY = "applied-key-acme-0001"
NEW_SECRET = "wss_applied_connection_secret"


@pytest.fixture(autouse=True)
def registry_as_started(stack: Any) -> Iterator[None]:
    """Each test starts from the registry as ``make run`` left it: config/local.json applied."""
    from eventhub.registry.apply import apply_config
    from functions.models.config import load_config

    _, report = apply_config(load_config(LOCAL_CONFIG), stack.registry_table(), stack.schedules(), prune=True)
    assert report.ok, report.error
    yield


def config_file(tmp_path: Path, edit: Any) -> Path:
    document = json.loads(LOCAL_CONFIG.read_text())
    edit(document)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document))
    return path


def with_new_entries(document: dict[str, Any]) -> None:
    sensitive(NEW_KEY, NEW_SECRET)
    document["connections"].append(
        {"id": "extend-applied", "provider": "extend", "tenantId": "acme", "secrets": [NEW_SECRET]}
    )
    document["connections"].append(
        {"id": "vai-applied", "provider": "vai", "tenantId": "globex",
         "poll": {"baseUrl": "https://api.vai.example", "apiKey": NEW_SECRET, "everySeconds": 120}}
    )  # fmt: skip
    document["apiKeys"].append({"key": NEW_KEY, "tenantId": "acme", "name": "applied"})


def state(stack: Any) -> tuple[Any, ...]:
    registry = stack.registry_table()
    return registry.connection_records(), registry.key_records(), stack.schedules().current()


def test_apply_prints_its_plan_applies_it_and_a_second_run_plans_nothing(stack: Any, tmp_path: Path) -> None:
    # Given a file with a new webhook connection, a new poll connection and a new key
    path = config_file(tmp_path, with_new_entries)

    # When it is applied twice
    first = eventhub(stack, "config", "apply", str(path))
    second = eventhub(stack, "config", "apply", str(path))

    # Then the first run plans and does the four changes, the second plans none
    assert first.exit_code == 0, first.stderr
    for line in ("+ connection extend-applied: extend, tenant acme", "+ connection vai-applied",
                 "+ key acme/applied", "+ schedule vai-applied: rate(2 minutes)"):  # fmt: skip
        assert line in first.stdout
        assert f"done {line}" in first.stdout
    assert "applied 4 change(s)" in first.stdout
    assert second.exit_code == 0, second.stderr
    assert second.stdout.startswith("no changes")
    assert query_status(stack, NEW_KEY) == 200
    assert stack.schedules().current()["vai-applied"] == "rate(2 minutes)"
    assert NEW_SECRET not in first.stdout + first.stderr and NEW_KEY not in first.stdout + first.stderr


def test_prune_removes_only_what_the_file_no_longer_names(stack: Any, tmp_path: Path) -> None:
    # Given a key made with `keys create`, and a file that no longer names svix-dev or klavi-pull
    created = eventhub(stack, "keys", "create", "--tenant", "acme", "--name", "made-by-hand")
    sensitive(created.stdout.strip())
    path = config_file(
        tmp_path,
        lambda d: d.update(
            connections=[c for c in d["connections"] if c["id"] not in ("svix-dev", "klavi-pull")]
        ),
    )

    # When the file is applied with --prune
    done = eventhub(stack, "config", "apply", str(path), "--prune")

    # Then the two connections, klavi-pull's schedule and the hand-made key are removed, nothing else
    assert done.exit_code == 0, done.stderr
    planned = sorted(line for line in done.stdout.splitlines() if line.startswith(("+", "-", "~")))
    assert planned == [
        "- connection klavi-pull",
        "- connection svix-dev",
        "- key acme/made-by-hand",
        "- schedule klavi-pull",
    ]
    connections, keys, schedules = state(stack)
    assert [r.connection.id for r in connections] == ["exa-dev", "extend-dev", "klavi-push", "vai-pull"]
    assert [k.name for k in keys] == ["", ""]
    assert sorted(schedules) == ["exa-dev", "vai-pull"]
    assert query_status(stack, "dev-key-acme-000000") == 200


def test_dry_run_prints_the_plan_and_writes_nothing(stack: Any, tmp_path: Path) -> None:
    # Given a file with new entries, and the registry as it is
    path = config_file(tmp_path, with_new_entries)
    before = state(stack)

    # When it is applied with --dry-run
    done = eventhub(stack, "config", "apply", str(path), "--dry-run")

    # Then the plan is printed, nothing is written, and a real apply still has everything to do
    assert done.exit_code == 0, done.stderr
    assert "+ connection extend-applied" in done.stdout and "done " not in done.stdout
    assert "dry run: nothing written" in done.stderr
    assert state(stack) == before
    assert "+ key acme/applied" in eventhub(stack, "config", "apply", str(path), "--dry-run").stdout


def test_a_bad_file_is_refused_whole_with_every_problem_by_field_and_nothing_written(
    stack: Any, tmp_path: Path
) -> None:
    # Given a file with one good new connection and three problems, one beside a secret value
    secret = "bad-file-poll-secret-0000"
    sensitive(secret)

    def break_it(document: dict[str, Any]) -> None:
        with_new_entries(document)
        document["connections"].append({"id": "vai-bad", "provider": "vai", "poll": {"apiKey": secret}})
        document["apiKeys"].append({"key": "tiny-k", "tenantId": "acme"})

    path = config_file(tmp_path, break_it)
    before = state(stack)

    # When it is applied
    done = eventhub(stack, "config", "apply", str(path))

    # Then it is refused as bad input, each problem named by field, no value shown, nothing written
    assert done.exit_code == cli.EXIT_BAD_INPUT
    assert "invalid configuration" in done.stderr and "nothing written" in done.stderr
    for field in ("connections[8].tenantId: Field required", "connections[8].poll.baseUrl: Field required",
                  "apiKeys[3].key: String should have at least 8 characters"):  # fmt: skip
        assert field in done.stderr
    assert secret not in done.stdout + done.stderr and "tiny-k" not in done.stdout + done.stderr
    assert state(stack) == before
