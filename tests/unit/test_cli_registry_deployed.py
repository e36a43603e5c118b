"""`eventhub keys|connections|config apply` against a deployed stack: moto in this process
(``aws`` fixture: the registry table and the schedule group) stands in for the account, and a
``--stack-outputs`` file names its registry, schedule group, Scheduler role, poller, poller DLQ
and secret prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from eventhub import cli
from eventhub.deployed import DeployedStack
from functions.adapters.registry.table import RegistryTable
from functions.models.config import hash_api_key
from tests.conftest import LOCAL_CONFIG, sensitive

POLLER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:EventHub-Poller-1A2B"
ROLE_ARN = "arn:aws:iam::123456789012:role/EventHub-SchedulerRole-3C4D"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:EventHub-PollerDlq-5E6F"


@pytest.fixture
def outputs(aws: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    stack = {
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/prod/",
        "RegistryTableName": aws["registry"],
        "ScheduleGroupName": aws["schedule_group"],
        "SchedulerRoleArn": ROLE_ARN,
        "PollerFunctionArn": POLLER_ARN,
        "PollerDlqArn": DLQ_ARN,
        "SecretPrefix": "eventhub/",
    }
    path.write_text(json.dumps({"EventHubStack": stack}))  # the `cdk deploy --outputs-file` shape
    return path


def run(outputs: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(
        cli.app, ["--stack-outputs", str(outputs), *args], input=stdin, env={"COLUMNS": "200"}
    )


def test_secret_stdin_goes_to_secrets_manager_under_the_derived_names_and_the_item_holds_only_them(
    aws: dict[str, Any], outputs: Path
) -> None:
    # Given an Exa connection's signing secret and API key
    signing, api_key = "exa-deployed-signing-secret", "exa-deployed-api-key-0000"
    sensitive(signing, api_key)

    # When the connection is added on the deployed stack with both on stdin
    done = run(
        outputs, "connections", "add", "--id", "exa-prod", "--provider", "exa", "--tenant", "acme",
        "--webhook", "--poll-base-url", "https://api.exa.ai", "--every-seconds", "300", "--secret-stdin",
        stdin=f"{signing}\n{api_key}\n",
    )  # fmt: skip

    # Then each value is in Secrets Manager under <prefix><id>/<part>, the item names them only,
    # and the poller's schedule is in the stack's group
    assert done.exit_code == 0, done.output
    secrets = boto3_client("secretsmanager")
    signing_name, credential_name = "eventhub/exa-prod/signing-secret", "eventhub/exa-prod/poll-credential"
    assert secrets.get_secret_value(SecretId=signing_name)["SecretString"] == signing
    assert secrets.get_secret_value(SecretId=credential_name)["SecretString"] == api_key
    item = aws["dynamodb"].get_item(TableName=aws["registry"], Key={"pk": {"S": "connection#exa-prod"}})
    body = json.loads(item["Item"]["body"]["S"])
    assert body["secrets"] == [{"secretsManager": signing_name}]
    assert body["poll"]["apiKey"] == {"secretsManager": credential_name}
    assert signing not in json.dumps(item) and api_key not in json.dumps(item)
    schedule = aws["scheduler"].get_schedule(GroupName=aws["schedule_group"], Name="exa-prod")
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert (schedule["Target"]["Arn"], schedule["Target"]["RoleArn"]) == (POLLER_ARN, ROLE_ARN)
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": DLQ_ARN}
    assert signing not in done.output and api_key not in done.output


def test_update_with_secret_stdin_puts_a_new_version_of_the_same_secret(
    aws: dict[str, Any], outputs: Path
) -> None:
    # Given a deployed webhook connection with its signing secret in Secrets Manager
    sensitive("extend-old-signing-secret", "extend-new-signing-secret")
    added = run(
        outputs, "connections", "add", "--id", "extend-prod", "--provider", "extend", "--tenant", "acme",
        "--webhook", "--secret-stdin", stdin="extend-old-signing-secret\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    # When its secret is replaced
    updated = run(outputs, "connections", "update", "--id", "extend-prod", "--secret-stdin",
                  stdin="extend-new-signing-secret\n")  # fmt: skip

    # Then the same secret now holds the new value, and the connection still names it
    assert updated.exit_code == 0, updated.output
    name = "eventhub/extend-prod/signing-secret"
    assert boto3_client("secretsmanager").get_secret_value(SecretId=name)["SecretString"] == (
        "extend-new-signing-secret"
    )
    connection = RegistryTable(aws["registry"], aws["dynamodb"]).connection("extend-prod")
    assert connection is not None and connection.secrets[0].secrets_manager == name


def test_keys_create_on_the_deployed_stack_stores_only_the_hash(aws: dict[str, Any], outputs: Path) -> None:
    # Given the deployed stack's registry, with no keys

    # When a key is created
    done = run(outputs, "keys", "create", "--tenant", "globex", "--name", "etl")
    key = done.stdout.strip()
    sensitive(key)

    # Then the registry holds its hash with the tenant and name, and the key nowhere
    assert done.exit_code == 0, done.output
    items = aws["dynamodb"].scan(TableName=aws["registry"])["Items"]
    assert [i["pk"]["S"] for i in items] == [f"apikey#{hash_api_key(key)}"]
    assert (items[0]["tenantId"]["S"], items[0]["name"]["S"]) == ("globex", "etl")
    assert key not in json.dumps(items)


def test_config_apply_refuses_inline_secrets_on_a_deployed_stack_naming_the_connections(
    aws: dict[str, Any], outputs: Path
) -> None:
    # Given config/local.json, whose connections hold their secrets inline

    # When it is applied to the deployed stack
    done = run(outputs, "config", "apply", str(LOCAL_CONFIG))

    # Then it is refused naming every such connection, and nothing is written
    assert done.exit_code == cli.EXIT_BAD_INPUT
    message = " ".join(done.stderr.split())
    assert (
        "extend-dev, exa-dev, klavi-push, klavi-pull, vai-pull, svix-dev hold secret values inline" in message
    )
    assert aws["dynamodb"].scan(TableName=aws["registry"])["Items"] == []


class RefusingScheduler:
    """The deployed stack's Scheduler client, whose CreateSchedule is denied."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def create_schedule(self, **params: Any) -> Any:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        raise ClientError(error, "CreateSchedule")


def test_a_failed_apply_says_what_was_done_what_failed_and_what_was_not_attempted(
    aws: dict[str, Any], outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file of two poll connections (secrets by name) and a Scheduler that refuses to create
    real = DeployedStack.client
    monkeypatch.setattr(
        DeployedStack,
        "client",
        lambda self, service: RefusingScheduler(real(self, "scheduler")) if service == "scheduler"
        else real(self, service),
    )  # fmt: skip
    poll = {"baseUrl": "https://api.vai.example", "apiKey": {"secretsManager": "eventhub/vai/key"}}
    path = tmp_path / "aws.json"
    path.write_text(json.dumps({"connections": [
        {"id": "vai-a", "provider": "vai", "tenantId": "acme", "poll": poll},
        {"id": "vai-b", "provider": "vai", "tenantId": "acme", "poll": poll},
    ]}))  # fmt: skip

    # When it is applied
    done = run(outputs, "config", "apply", str(path))

    # Then the connections were written, the first schedule failed with its error code, the second
    # was not attempted, and the command failed
    assert done.exit_code == cli.EXIT_FAILURE
    err = done.stderr
    assert "failed: + schedule vai-a: rate(5 minutes) (AccessDeniedException)" in err
    assert "done (2):\n  + connection vai-a" in err and "  + connection vai-b" in err
    assert "not attempted (1):\n  + schedule vai-b: rate(5 minutes)" in err
    written = RegistryTable(aws["registry"], aws["dynamodb"]).connection_records()
    assert [r.connection.id for r in written] == ["vai-a", "vai-b"]


def boto3_client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def test_the_bound_the_commands_announce_is_the_functions_default_cache_time() -> None:
    # Given the functions' default registry cache time
    from eventhub.cli.registry_target import CACHE_BOUND
    from functions.adapters.registry.cached import DEFAULT_TTL_SECONDS

    # When / Then the commands' "within 60 s" says that same time
    assert f"{DEFAULT_TTL_SECONDS:g} s" == CACHE_BOUND
