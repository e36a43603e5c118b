"""`eventhub` maintenance commands against a deployed stack.

moto (``aws`` fixture) stands in for the deployed account: its table, bucket and queues, the
stack's outputs as a ``--stack-outputs`` JSON or a CloudFormation stack, a Secrets Manager
secret. moto cannot run Lambda code without Docker, so the boto3 Lambda client of the deployed
stack is replaced by a recording fake (the boundary the commands invoke functions through).
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from eventhub import cli
from eventhub.deployed import DeployedStack
from tests.conftest import LOCAL_CONFIG

EVENT_ID = "4e19ef24-52c4-4f33-9d2e-3a1f0c2b7d10"


class FakeLambda:
    """A boto3 Lambda client's ``invoke``: records each call, answers from ``answers``."""

    def __init__(self, answers: dict[str, Any], function_error: str | None = None) -> None:
        self.answers = answers
        self.function_error = function_error
        self.calls: list[tuple[str, str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
        self.calls.append((FunctionName, InvocationType, json.loads(Payload)))
        answer: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(self.answers[FunctionName]).encode()),
        }
        if self.function_error:
            answer["FunctionError"] = self.function_error
        return answer


@pytest.fixture
def fake_lambda(monkeypatch: pytest.MonkeyPatch) -> FakeLambda:
    fake = FakeLambda({})
    real = DeployedStack.client

    def client(self: DeployedStack, service: str) -> Any:
        return fake if service == "lambda" else real(self, service)

    monkeypatch.setattr(DeployedStack, "client", client)
    return fake


def stack_outputs(aws: dict[str, Any], **extra: str) -> dict[str, str]:
    sqs = aws["sqs"]
    queues = {
        f"{name}QueueUrl": sqs.create_queue(QueueName=f"eventhub-{name.lower()}")["QueueUrl"]
        for name in ("PollerDlq", "CopierDlq", "AggregatorDlq")
    }
    return {
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/prod/",
        "TableName": aws["table"],
        "BucketName": aws["bucket"],
        "SpillQueueUrl": aws["spill_queue_url"],
        **queues,
        "PollerFunctionName": "EventHub-Poller-1A2B",
        "CopierFunctionName": "EventHub-Copier-3C4D",
        "AggregatorFunctionName": "EventHub-Aggregator-5E6F",
        **extra,
    }


def outputs_file(tmp_path: Path, outputs: dict[str, str]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"EventHubStack": outputs}))  # the `cdk deploy --outputs-file` shape
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})


# -- recopy ---------------------------------------------------------------------------------------


def test_recopy_invokes_the_deployed_copier_with_the_recopy_action(
    aws: dict[str, Any], fake_lambda: FakeLambda, tmp_path: Path
) -> None:
    # Given a deployed stack's outputs and a copier that copies the event's one artifact
    outputs = stack_outputs(aws)
    fake_lambda.answers[outputs["CopierFunctionName"]] = {
        "event_id": EVENT_ID,
        "found": True,
        "artifacts": [{"index": 0, "name": "report.pdf", "status": "copied", "size": 12}],
    }

    # When the event is recopied against that stack
    done = run("--stack-outputs", str(outputs_file(tmp_path, outputs)), "recopy", EVENT_ID.upper())

    # Then the copier function was invoked synchronously with the recopy action, and its outcome shown
    assert done.exit_code == 0, done.output
    assert fake_lambda.calls == [
        (outputs["CopierFunctionName"], "RequestResponse", {"action": "recopy", "eventId": EVENT_ID})
    ]
    assert "artifact report.pdf: copied" in done.stdout


def test_recopy_fails_readably_when_the_deployed_copier_fails(
    aws: dict[str, Any], fake_lambda: FakeLambda, tmp_path: Path
) -> None:
    # Given a copier whose invocation raises
    outputs = stack_outputs(aws)
    fake_lambda.answers[outputs["CopierFunctionName"]] = {"errorMessage": "Task timed out after 900 s"}
    fake_lambda.function_error = "Unhandled"

    # When the event is recopied
    done = run("--stack-outputs", str(outputs_file(tmp_path, outputs)), "recopy", EVENT_ID)

    # Then the command fails with the function's error
    assert done.exit_code == cli.EXIT_FAILURE
    assert "EventHub-Copier-3C4D failed: Task timed out after 900 s" in done.output


def test_recopy_of_an_unknown_event_exits_not_found(
    aws: dict[str, Any], fake_lambda: FakeLambda, tmp_path: Path
) -> None:
    # Given a deployed copier that answers it found no such event
    outputs = stack_outputs(aws)
    fake_lambda.answers[outputs["CopierFunctionName"]] = {
        "event_id": EVENT_ID,
        "found": False,
        "artifacts": [],
    }

    # When the event is recopied against that stack
    done = run("--stack-outputs", str(outputs_file(tmp_path, outputs)), "recopy", EVENT_ID)

    # Then the command exits as not found, naming the event
    assert done.exit_code == cli.EXIT_NOT_FOUND
    assert f"no event {EVENT_ID}" in done.output


# -- replay ---------------------------------------------------------------------------------------


def klavi_body() -> dict[str, Any]:
    from functions.models.event import format_timestamp, utcnow

    return {
        "partnerAppId": "12345678",
        "eventId": "1495468585434-0e73d1719173766fe4dfe1a8",
        "eventType": "analysis",
        "eventName": "analysis_finished",
        "eventTime": format_timestamp(utcnow()),
        "payload": {"batchId": "25872252131"},
    }


def test_replay_restores_a_spilled_event_into_the_deployed_table(
    aws: dict[str, Any], store: Any, fake_lambda: FakeLambda, tmp_path: Path
) -> None:
    # Given a Klavi event the deployed poller spilled, and a failed scheduled poll
    from functions.adapters.spill import SpillQueue
    from functions.models.config import load_config
    from functions.models.event import Channel, utcnow
    from functions.providers import klavi

    outputs = stack_outputs(aws)
    body = klavi_body()
    SpillQueue(aws["spill_queue_url"], aws["sqs"], store.blobs).spill(
        connection_id="klavi-pull", provider="klavi", reason="store unavailable",
        received_at="2025-01-01T00:00:00Z", body=json.dumps(body).encode(),
    )  # fmt: skip
    aws["sqs"].send_message(QueueUrl=outputs["PollerDlqQueueUrl"], MessageBody='{"connectionId": "vai-pull"}')
    fake_lambda.answers[outputs["PollerFunctionName"]] = {"connectionId": "vai-pull", "outcome": "completed"}

    # When the deployed stack's queues are replayed
    done = run(
        "--config", str(LOCAL_CONFIG), "--stack-outputs", str(outputs_file(tmp_path, outputs)), "replay"
    )

    # Then the event is in the deployed table, the poll ran again, and both messages are gone
    assert done.exit_code == 0, done.output
    assert "spilled events: 1 restored, 0 already stored, 0 left in the queue" in done.stdout
    assert "failed scheduled polls: 1 run again, 0 left in the queue" in done.stdout
    config = load_config(LOCAL_CONFIG)
    event_id = klavi.map_event(body, config.connection("klavi-pull"), utcnow(), Channel.POLL).event.id
    assert store.get(event_id)
    assert fake_lambda.calls == [
        (outputs["PollerFunctionName"], "RequestResponse", {"connectionId": "vai-pull"})
    ]
    for queue in (aws["spill_queue_url"], outputs["PollerDlqQueueUrl"]):
        attributes = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_replay_keeps_a_failed_poll_message_and_exits_non_zero(
    aws: dict[str, Any], fake_lambda: FakeLambda, tmp_path: Path
) -> None:
    # Given a failed scheduled poll whose rerun fails again
    outputs = stack_outputs(aws)
    aws["sqs"].send_message(QueueUrl=outputs["PollerDlqQueueUrl"], MessageBody='{"connectionId": "vai-pull"}')
    fake_lambda.answers[outputs["PollerFunctionName"]] = {"connectionId": "vai-pull", "outcome": "failed"}

    # When replayed
    done = run(
        "--config", str(LOCAL_CONFIG), "--stack-outputs", str(outputs_file(tmp_path, outputs)), "replay"
    )

    # Then the message stays, visible for the next replay
    assert done.exit_code == cli.EXIT_FAILURE
    assert "failed scheduled polls: 0 run again, 1 left in the queue" in done.stdout
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=outputs["PollerDlqQueueUrl"], AttributeNames=["All"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


# -- rebuild-counters -------------------------------------------------------------------------------


def counter_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    from functions import table_schema
    from functions.adapters.counter_items import COUNTER_KIND

    items = aws["dynamodb"].scan(TableName=aws["table"])["Items"]
    return [i for i in items if i.get(table_schema.KIND_ATTRIBUTE, {}).get("S") == COUNTER_KIND]


def cloudformation_stack(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_rebuild_counters_writes_counters_into_the_table_of_a_deployed_stack(
    aws: dict[str, Any], store: Any
) -> None:
    # Given a CloudFormation stack whose table holds one uncounted event
    from functions.models.config import load_config
    from functions.models.event import Channel, utcnow
    from functions.providers import klavi

    config = load_config(LOCAL_CONFIG)
    store.put(klavi.map_event(klavi_body(), config.connection("klavi-pull"), utcnow(), Channel.POLL))
    assert counter_items(aws) == []
    cloudformation_stack("EventHubStack", stack_outputs(aws))

    # When the counters are rebuilt against that stack
    done = run("--stack", "EventHubStack", "--region", "us-east-1", "rebuild-counters")

    # Then counter items were written into its table
    assert done.exit_code == 0, done.output
    assert "from 1 events (every tenant) in eventhub-events" in done.stdout
    written = int(done.stdout.split("rebuilt ")[1].split(" ")[0])
    assert written > 0
    assert len(counter_items(aws)) == written


# -- backfill -------------------------------------------------------------------------------------


def test_backfill_reads_a_vai_window_into_the_deployed_table_with_a_secrets_manager_key(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    # Given a VAI events API whose key is a Secrets Manager secret, and an AWS config naming it
    from eventhub.demo.vai import VaiFake
    from functions.models.event import utcnow

    boto3.client("secretsmanager").create_secret(Name="eventhub/vai-prod/api-key", SecretString="vai-key-1")
    with VaiFake(api_key="vai-key-1") as fake:
        config = tmp_path / "aws.json"
        connection = {
            "id": "vai-prod",
            "provider": "vai",
            "tenantId": "globex",
            "poll": {
                "baseUrl": fake.url,
                "everySeconds": 300,
                "apiKey": {"secretsManager": "eventhub/vai-prod/api-key"},
            },
        }
        config.write_text(json.dumps({"connections": [connection], "apiKeys": []}))
        now = utcnow()
        fake.add_events(5, start=now - timedelta(hours=3), end=now - timedelta(hours=2))
        fake.add_events(2, start=now - timedelta(minutes=30), end=now - timedelta(minutes=10))  # outside
        outputs = outputs_file(tmp_path, stack_outputs(aws))

        # When the window four to one hours ago is backfilled into the deployed stack
        args = ("--config", str(config), "--stack-outputs", str(outputs), "backfill", "vai-prod")
        done = run(*args, "--from", "4h", "--to", "1h")

        # Then the five events of the window are in its table, and running it again stores nothing new
        assert done.exit_code == 0, done.output
        assert "vai-prod (vai): completed - seen 5, new 5," in done.stdout
        again = run(*args, "--from", "4h", "--to", "1h")
        assert again.exit_code == 0, again.output
        assert "new 0" in again.stdout
    items = aws["dynamodb"].scan(TableName=aws["table"])["Items"]
    stored = {i["sourceEventId"]["S"] for i in items if "sourceEventId" in i}
    assert stored == {e["id"] for e in fake.events[:5]}


# -- errors ---------------------------------------------------------------------------------------


def test_a_missing_stack_is_reported_as_not_found(aws: dict[str, Any]) -> None:
    # When the CLI is pointed at a stack that does not exist
    done = run("--stack", "NoSuchStack", "--region", "us-east-1", "rebuild-counters")

    # Then it exits as not found, naming the stack
    assert done.exit_code == cli.EXIT_NOT_FOUND
    assert "cannot read the outputs of stack 'NoSuchStack'" in done.output


def test_a_missing_output_names_the_output(aws: dict[str, Any], tmp_path: Path) -> None:
    # Given outputs of a stack deployed before the function names were exported
    outputs = stack_outputs(aws)
    del outputs["CopierFunctionName"]

    # When an event is recopied against that stack
    done = run("--stack-outputs", str(outputs_file(tmp_path, outputs)), "recopy", EVENT_ID)

    # Then it fails as bad input, naming the missing output
    assert done.exit_code == cli.EXIT_BAD_INPUT
    assert "has no CopierFunctionName output" in done.output


def test_missing_aws_credentials_exit_with_the_credentials_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given no AWS credentials anywhere (and no instance metadata to ask)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    outputs = outputs_file(tmp_path, {"TableName": "t", "CopierFunctionName": "f"})

    # When an event is recopied against a deployed stack
    done = run("--stack-outputs", str(outputs), "--region", "us-east-1", "recopy", EVENT_ID)

    # Then it exits with the credentials code, saying credentials are missing
    assert done.exit_code == cli.EXIT_AUTH
    assert "missing credentials" in done.output


def test_an_unknown_profile_exits_with_the_credentials_code(tmp_path: Path) -> None:
    # Given a stack's outputs file
    outputs = outputs_file(tmp_path, {"TableName": "t"})

    # When the CLI runs with an AWS profile that does not exist
    done = run("--stack-outputs", str(outputs), "--profile", "no-such-profile", "rebuild-counters")

    # Then it exits with the credentials code, naming the profile
    assert done.exit_code == cli.EXIT_AUTH
    assert "no-such-profile" in done.output
