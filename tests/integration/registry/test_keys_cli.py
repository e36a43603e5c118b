"""`eventhub keys create|list|revoke` on a running local stack: the query API sees each change
without a restart, within the functions' registry cache bound."""

from __future__ import annotations

import json
from typing import Any

from eventhub import cli
from eventhub.cli.keys import KEY_PREFIX
from tests.conftest import sensitive
from tests.integration.registry.conftest import eventhub, past_the_cache_bound, query_status


def create_key(stack: Any, tenant: str, name: str) -> str:
    created = eventhub(stack, "keys", "create", "--tenant", tenant, "--name", name)
    assert created.exit_code == 0, created.stderr
    key = created.stdout.strip()
    sensitive(key)  # no log line of the stack may contain it
    return key


def listed(stack: Any) -> list[dict[str, Any]]:
    done = eventhub(stack, "keys", "list", "--json")
    assert done.exit_code == 0, done.stderr
    return list(json.loads(done.stdout)["keys"])


def test_a_created_key_is_printed_once_and_accepted_by_the_query_api_at_once(stack: Any) -> None:
    # Given a running stack that has never seen the key

    # When a key is created for acme
    created = eventhub(stack, "keys", "create", "--tenant", "acme", "--name", "ci-reader")
    key = created.stdout.strip()
    sensitive(key)

    # Then stdout holds the key alone, stderr says it is not shown again, and the API takes it now
    assert created.exit_code == 0, created.stderr
    assert key.startswith(KEY_PREFIX) and len(key) > 40 and "\n" not in key
    assert "not shown again" in created.stderr and key not in created.stderr
    assert query_status(stack, key) == 200
    record = next(k for k in listed(stack) if k["name"] == "ci-reader")
    assert record["tenantId"] == "acme" and record["last4"] == key[-4:]


def test_a_revoked_key_is_refused_once_the_cache_bound_has_passed(stack: Any) -> None:
    # Given a key the query API has just accepted (and so keeps in its cache)
    key = create_key(stack, "acme", "to-revoke")
    assert query_status(stack, key) == 200

    # When it is revoked by name, and the cache bound passes
    revoked = eventhub(stack, "keys", "revoke", "--name", "to-revoke", "--tenant", "acme")
    past_the_cache_bound()

    # Then the API refuses it, and it is no longer listed
    assert revoked.exit_code == 0, revoked.stderr
    assert f"revoked key acme/to-revoke (…{key[-4:]}" in revoked.stdout
    assert query_status(stack, key) == 401
    assert "to-revoke" not in [k["name"] for k in listed(stack)]


def test_keys_list_shows_names_tenants_and_last_four_but_never_a_key(stack: Any) -> None:
    # Given a key made with the command, beside config/local.json's two keys
    key = create_key(stack, "globex", "dashboard")

    # When the keys are listed as a table and as JSON
    table = eventhub(stack, "keys", "list")
    as_json = eventhub(stack, "keys", "list", "--json")

    # Then both name it by name, tenant and last four characters, and neither holds a key
    assert table.exit_code == 0 and as_json.exit_code == 0, table.stderr + as_json.stderr
    assert "dashboard" in table.stdout and f"…{key[-4:]}" in table.stdout
    for output in (table.stdout + table.stderr, as_json.stdout + as_json.stderr):
        assert key not in output
        assert "dev-key-acme-000000" not in output and "dev-key-globex-00000" not in output
    row = next(k for k in json.loads(as_json.stdout)["keys"] if k["name"] == "dashboard")
    assert set(row) == {"name", "tenantId", "createdAt", "last4", "keyHash"}


def test_revoke_refuses_a_selector_that_matches_several_keys_or_none_and_removes_nothing(
    stack: Any,
) -> None:
    # Given two tenants with a key of the same name
    acme_key = create_key(stack, "acme", "ops")
    globex_key = create_key(stack, "globex", "ops")

    # When a revoke names only that name, and another names a key that does not exist
    several = eventhub(stack, "keys", "revoke", "--name", "ops")
    none = eventhub(stack, "keys", "revoke", "--name", "no-such-key")

    # Then both are refused as bad input, the first listing the two candidates, and both keys work
    assert several.exit_code == none.exit_code == cli.EXIT_BAD_INPUT
    assert "2 keys match --name ops" in several.stderr
    assert "acme/ops" in several.stderr and "globex/ops" in several.stderr
    assert "no key matches --name no-such-key" in none.stderr
    assert query_status(stack, acme_key) == query_status(stack, globex_key) == 200

    # When the tenant narrows it
    narrowed = eventhub(stack, "keys", "revoke", "--name", "ops", "--tenant", "globex")
    past_the_cache_bound()

    # Then exactly that tenant's key is gone
    assert narrowed.exit_code == 0, narrowed.stderr
    assert query_status(stack, globex_key) == 401
    assert query_status(stack, acme_key) == 200


def test_create_refuses_a_name_the_tenant_already_uses(stack: Any) -> None:
    # Given a tenant with a key named "nightly"
    create_key(stack, "acme", "nightly")

    # When another key of that name is asked for
    again = eventhub(stack, "keys", "create", "--tenant", "acme", "--name", "nightly")

    # Then it is refused, nothing is printed on stdout, and the tenant still has one such key
    assert again.exit_code == cli.EXIT_BAD_INPUT
    assert "already has a key named 'nightly'" in again.stderr
    assert again.stdout == ""
    assert [k["tenantId"] for k in listed(stack) if k["name"] == "nightly"] == ["acme"]
