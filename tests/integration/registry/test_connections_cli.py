"""`eventhub connections add|update|disable|enable|list` on a running local stack: webhooks of a
new connection are accepted without a restart, a disabled one answers 404 within the cache
bound, and a poll connection's schedule follows it."""

from __future__ import annotations

import json
from typing import Any

from eventhub import cli
from tests.conftest import LOCAL_CONFIG, sensitive
from tests.integration.registry.conftest import eventhub, extend_body, past_the_cache_bound, webhook_status
from tests.support.log_guard import secrets_in_config


def add_extend(stack: Any, connection_id: str, secret: str) -> Any:
    sensitive(secret)
    return eventhub(
        stack, "connections", "add", "--id", connection_id, "--provider", "extend", "--tenant", "acme",
        "--webhook", "--artifact-host", "localhost", "--secret-stdin", stdin=f"{secret}\n",
    )  # fmt: skip


def test_a_webhook_connection_added_with_its_secret_on_stdin_takes_signed_webhooks_at_once(
    stack: Any,
) -> None:
    # Given a running stack that has no connection "extend-new"
    secret = "wss_new_signing_secret_from_stdin"

    # When it is added with its signing secret on stdin
    added = add_extend(stack, "extend-new", secret)

    # Then a webhook signed with that secret is stored, one signed with another is refused
    assert added.exit_code == 0, added.stderr
    assert "added connection extend-new: extend, tenant acme" in added.stdout
    assert secret not in added.stdout + added.stderr
    assert webhook_status(stack, "extend-new", "extend", secret, extend_body("evt_new_1")) == 200
    assert webhook_status(stack, "extend-new", "extend", "another-secret", extend_body("evt_new_2")) == 401


def test_a_disabled_connection_answers_404_within_the_cache_bound_and_enable_restores_it(
    stack: Any,
) -> None:
    # Given a connection taking webhooks
    secret = "wss_to_be_disabled_secret"
    assert add_extend(stack, "extend-off", secret).exit_code == 0
    body = extend_body("evt_off_1")
    assert webhook_status(stack, "extend-off", "extend", secret, body) == 200

    # When it is disabled, and the cache bound passes
    disabled = eventhub(stack, "connections", "disable", "--id", "extend-off")
    past_the_cache_bound()

    # Then its webhooks answer 404
    assert disabled.exit_code == 0, disabled.stderr
    assert webhook_status(stack, "extend-off", "extend", secret, body) == 404

    # When it is enabled again
    enabled = eventhub(stack, "connections", "enable", "--id", "extend-off")
    past_the_cache_bound()

    # Then the same delivery is taken again (as the duplicate it is)
    assert enabled.exit_code == 0, enabled.stderr
    assert webhook_status(stack, "extend-off", "extend", secret, body) == 200


def test_a_poll_connection_gets_its_schedule_which_disable_removes_and_enable_restores(stack: Any) -> None:
    # Given a VAI API key to poll with
    api_key = "vai-cli-api-key-0000"
    sensitive(api_key)

    # When a poll connection is added with it on stdin
    added = eventhub(
        stack, "connections", "add", "--id", "vai-new", "--provider", "vai", "--tenant", "acme",
        "--poll-base-url", "https://api.vai.example", "--every-seconds", "150", "--secret-stdin",
        stdin=api_key,
    )  # fmt: skip

    # Then its schedule polls it every three minutes (whole minutes, rounded up)
    assert added.exit_code == 0, added.stderr
    assert stack.schedules().current()["vai-new"] == "rate(3 minutes)"
    assert stack.registry_table().connection("vai-new").poll.api_key == api_key  # local: inline

    # When it is disabled, then enabled
    disabled = eventhub(stack, "connections", "disable", "--id", "vai-new")
    after_disable = stack.schedules().current()
    enabled = eventhub(stack, "connections", "enable", "--id", "vai-new")

    # Then the schedule was gone while it was disabled, and is back
    assert disabled.exit_code == 0 and enabled.exit_code == 0, disabled.stderr + enabled.stderr
    assert "vai-new" not in after_disable
    assert stack.schedules().current()["vai-new"] == "rate(3 minutes)"


def test_update_changes_what_is_given_and_keeps_the_rest(stack: Any) -> None:
    # Given a poll connection every 60 s
    sensitive("vai-update-api-key-00")
    eventhub(
        stack, "connections", "add", "--id", "vai-upd", "--provider", "vai", "--tenant", "acme",
        "--poll-base-url", "https://api.vai.example", "--every-seconds", "60", "--secret-stdin",
        stdin="vai-update-api-key-00",
    )  # fmt: skip

    # When only its interval is updated
    updated = eventhub(stack, "connections", "update", "--id", "vai-upd", "--every-seconds", "600")

    # Then the interval and the schedule change, its credential and URL stay
    assert updated.exit_code == 0, updated.stderr
    connection = stack.registry_table().connection("vai-upd")
    assert connection.poll.every_seconds == 600 and connection.poll.api_key == "vai-update-api-key-00"
    assert connection.poll.base_url == "https://api.vai.example"
    assert stack.schedules().current()["vai-upd"] == "rate(10 minutes)"


def test_add_refuses_an_existing_id_and_update_an_unknown_one(stack: Any) -> None:
    # Given config/local.json's connection extend-dev

    # When it is added again, and a connection that does not exist is updated
    again = add_extend(stack, "extend-dev", "wss_would_replace_the_secret")
    unknown = eventhub(stack, "connections", "update", "--id", "no-such-connection", "--every-seconds", "60")

    # Then both are refused and extend-dev keeps its secret
    assert again.exit_code == cli.EXIT_BAD_INPUT
    assert "connection 'extend-dev' exists" in again.stderr
    assert unknown.exit_code == cli.EXIT_NOT_FOUND
    assert stack.registry_table().connection("extend-dev").secrets == ["wss_dev_extend_signing_secret"]


def test_invalid_options_are_listed_by_field_without_their_values_and_nothing_is_written(
    stack: Any,
) -> None:
    # Given a secret on stdin and options that break several rules
    secret = "wss_secret_of_an_invalid_connection"
    sensitive(secret)

    # When such a connection is added
    done = eventhub(
        stack, "connections", "add", "--id", "bad id!", "--provider", "not-a-provider", "--tenant", "",
        "--poll-base-url", "ftp://files.example", "--every-seconds", "0", "--webhook", "--secret-stdin",
        stdin=f"{secret}\nsecond-secret-value\n",
    )  # fmt: skip

    # Then each bad field is named, no value is echoed, and the registry holds nothing new
    assert done.exit_code == cli.EXIT_BAD_INPUT
    for field in ("id:", "provider:", "tenantId:", "poll.baseUrl:", "poll.everySeconds:"):
        assert field in done.stderr
    for value in (secret, "second-secret-value", "ftp://files.example", "not-a-provider", "bad id!"):
        assert value not in done.stdout + done.stderr
    assert stack.registry_table().connection_record("bad id!") is None


def test_connections_list_shows_every_connection_and_schedule_but_no_secret_value(stack: Any) -> None:
    # Given config/local.json's connections (their secrets inline) and one added with a secret
    secret = "wss_listed_connection_secret"
    assert add_extend(stack, "extend-listed", secret).exit_code == 0

    # When the connections are listed as a table and as JSON
    table = eventhub(stack, "connections", "list")
    as_json = eventhub(stack, "connections", "list", "--json")

    # Then every connection is there with its schedule, and no secret value anywhere
    assert table.exit_code == 0 and as_json.exit_code == 0, table.stderr + as_json.stderr
    rows = {row["id"]: row for row in json.loads(as_json.stdout)["connections"]}
    assert {"extend-dev", "exa-dev", "klavi-pull", "vai-pull", "svix-dev", "extend-listed"} <= set(rows)
    assert rows["klavi-pull"]["schedule"] == "rate(1 minute)" and rows["extend-dev"]["schedule"] is None
    assert rows["extend-listed"]["secrets"] == ["inline"]
    for output in (table.stdout + table.stderr, as_json.stdout + as_json.stderr):
        assert "extend-listed" in output
        for value in {secret, *secrets_in_config(LOCAL_CONFIG)}:
            assert value not in output


def test_an_hmac_connection_added_from_the_cli_takes_deliveries_signed_as_its_settings_say(
    stack: Any, tmp_path: Any
) -> None:
    import urllib.request

    from eventhub.local.signing import sign
    from functions.models.hmac_settings import HmacSettings
    from tests.integration.registry.conftest import status_of

    # Given GitHub's settings in a file, and a signing secret
    settings = {"signatureHeader": "X-Hub-Signature-256", "prefix": "sha256=",
                "idHeader": "X-GitHub-Delivery", "typeHeader": "X-GitHub-Event"}  # fmt: skip
    (tmp_path / "github.json").write_text(json.dumps(settings))
    secret = "gh-cli-signing-secret-1"
    sensitive(secret)

    # When the connection is added with --hmac @file and its secret on stdin
    added = eventhub(
        stack, "connections", "add", "--id", "github-cli", "--provider", "hmac", "--tenant", "acme",
        "--webhook", "--hmac", f"@{tmp_path / 'github.json'}", "--secret-stdin", stdin=f"{secret}\n",
    )  # fmt: skip

    # Then a delivery signed as GitHub signs is stored, and a forged one refused
    assert added.exit_code == 0, added.stderr
    body = json.dumps({"ref": "refs/heads/main"}).encode()

    def status(key: str) -> int:
        headers = sign("hmac", key, body, hmac_settings=HmacSettings.model_validate(settings))
        url = f"{stack.url}/webhooks/github-cli"
        return status_of(urllib.request.Request(url, data=body, headers=headers, method="POST"))

    assert status(secret) == 200
    assert status("not-the-secret") == 401

    # And a --hmac that is not JSON, or settings that name no id, change nothing (exit 2)
    for bad in ("{not json", json.dumps({"signatureHeader": "X-Sig"})):
        refused = eventhub(
            stack, "connections", "add", "--id", "github-bad", "--provider", "hmac", "--tenant", "acme",
            "--webhook", "--hmac", bad, "--secret-stdin", stdin=f"{secret}\n",
        )  # fmt: skip
        assert refused.exit_code == 2, refused.stdout
    listed = eventhub(stack, "connections", "list", "--json")
    assert "github-bad" not in listed.stdout and "github-cli" in listed.stdout
