"""The Lambda functions: runtime, entry points, environment, and least-privilege roles."""

from __future__ import annotations

import json
import re

import pytest

from functions.models.config import parse_config
from infra import stack_config
from tests.infrastructure.conftest import ROOT
from tests.infrastructure.template import Synthesized, actions_of, function_id, role_statements

HANDLERS = {
    "Intake": "functions.handlers.intake.handler",
    "Query": "functions.handlers.query.handler",
    "Poller": "functions.handlers.poller.handler",
    "Copier": "functions.handlers.copier.handler",
    "Aggregator": "functions.handlers.aggregator.handler",
}
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}


def _function(synthesized: Synthesized, name: str) -> dict:
    return synthesized.resources[function_id(synthesized, name)]["Properties"]


def test_the_stack_has_exactly_the_five_functions(synthesized: Synthesized) -> None:
    handlers = sorted(
        f["Properties"]["Handler"] for f in synthesized.of_type("AWS::Lambda::Function").values()
    )
    assert handlers == sorted(HANDLERS.values())


@pytest.mark.parametrize(("name", "handler"), HANDLERS.items())
def test_function_runs_arm64_python313_with_active_tracing(
    synthesized: Synthesized, name: str, handler: str
) -> None:
    props = _function(synthesized, name)
    assert props["Handler"] == handler
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogGroup"] == {
        "Ref": synthesized.logical_id(f"HubFunctions{name}Logs", "AWS::Logs::LogGroup")
    }


@pytest.mark.parametrize("name", HANDLERS)
def test_function_environment_names_the_resources_and_powertools(synthesized: Synthesized, name: str) -> None:
    env = _function(synthesized, name)["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": synthesized.logical_id("EventStoreEvents", "AWS::DynamoDB::Table")}
    assert env["BUCKET_NAME"] == {"Ref": synthesized.logical_id("EventStoreData", "AWS::S3::Bucket")}
    assert env["POWERTOOLS_SERVICE_NAME"] == "eventhub"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "EventHub"
    assert env["LOG_LEVEL"] == "INFO"
    assert env["RETENTION_DAYS"] == "0", "events are kept until -c retentionDays=N sets a TTL"
    assert parse_config(env["EVENTHUB_CONFIG"]) == synthesized.config.for_functions()


def test_function_config_carries_key_hashes_and_secret_names_only(synthesized: Synthesized) -> None:
    env = _function(synthesized, "Query")["Environment"]["Variables"]
    config = json.loads(env["EVENTHUB_CONFIG"])
    assert all(set(key) == {"tenantId", "keyHash"} for key in config["apiKeys"])
    assert stack_config.webhook_secret_names(synthesized.config)[0] in env["EVENTHUB_CONFIG"]
    assert len(json.dumps(env).encode()) < 4096, "Lambda allows 4 KB of environment variables"


def test_only_the_poller_knows_the_spill_queue(synthesized: Synthesized) -> None:
    spill = synthesized.logical_id("PollersSpill", "AWS::SQS::Queue")
    for name in HANDLERS:
        env = _function(synthesized, name)["Environment"]["Variables"]
        if name == "Poller":
            assert env["SPILL_QUEUE_URL"] == {"Ref": spill}
        else:
            assert "SPILL_QUEUE_URL" not in env


def test_each_function_has_its_own_role(synthesized: Synthesized) -> None:
    roles = [_function(synthesized, name)["Role"]["Fn::GetAtt"][0] for name in HANDLERS]
    assert len(set(roles)) == len(HANDLERS)
    for role_id in roles:
        role = synthesized.resources[role_id]["Properties"]
        assert "ManagedPolicyArns" not in role, "no managed policies: every permission is granted explicitly"
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_query_role_can_read_but_never_write_the_table(synthesized: Synthesized) -> None:
    actions = actions_of(role_statements(synthesized, "Query"))
    dynamodb = {a for a in actions if a.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    assert not any(a.startswith(("s3:Put", "s3:Delete", "s3:Abort")) for a in actions)
    assert "dynamodb:Scan" not in actions


def test_intake_role_writes_events_but_cannot_query_or_scan(synthesized: Synthesized) -> None:
    actions = actions_of(role_statements(synthesized, "Intake"))
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "s3:PutObject"} <= actions
    assert "dynamodb:Query" not in actions and "dynamodb:Scan" not in actions
    assert not any(a.startswith("sqs:") for a in actions)


def test_aggregator_role_touches_no_bucket_and_no_secret(synthesized: Synthesized) -> None:
    actions = actions_of(role_statements(synthesized, "Aggregator"))
    assert "dynamodb:UpdateItem" in actions
    assert not any(a.startswith(("s3:", "secretsmanager:")) for a in actions)


def test_only_the_poller_may_send_to_the_spill_queue(synthesized: Synthesized) -> None:
    spill = {"Fn::GetAtt": [synthesized.logical_id("PollersSpill", "AWS::SQS::Queue"), "Arn"]}
    for name in HANDLERS:
        sends = [s for s in role_statements(synthesized, name) if "sqs:SendMessage" in actions_of([s])]
        targets_spill = any(spill in _resources(s) for s in sends)
        assert targets_spill is (name == "Poller"), name


def _resources(statement: dict) -> list:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


# What each function's code calls, and nothing more (the least-privilege test in
# tests/integration/test_least_privilege.py runs each function with exactly these).
EXPECTED_ACTIONS = {
    "Intake": {"dynamodb:PutItem", "dynamodb:GetItem", "s3:PutObject", "s3:DeleteObject",
               "secretsmanager:GetSecretValue"},
    "Query": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "s3:GetObject"},
    "Poller": {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:DeleteItem",
               "s3:PutObject", "s3:DeleteObject", "sqs:SendMessage", "secretsmanager:GetSecretValue"},
    "Copier": {"dynamodb:GetItem", "dynamodb:UpdateItem", "s3:GetObject", "s3:PutObject",
               "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:ListBucketMultipartUploads",
               "sqs:SendMessage"},
    "Aggregator": {"dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem",
                   "dynamodb:ConditionCheckItem", "sqs:SendMessage"},
}  # fmt: skip
# Granted to every function for its logs and traces, and to the stream consumers for their
# event source mapping (the Lambda service reads the stream with the function's role).
PLATFORM_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords"}  # fmt: skip
STREAM_READ_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                       "dynamodb:ListStreams"}  # fmt: skip
# The Lambda service sends failed invocations/records to an on-failure SQS destination with the
# function's role; CDK's grant for that adds the two queue lookups.
DESTINATION_ACTIONS = {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"}


@pytest.mark.parametrize("name", HANDLERS)
def test_each_role_holds_exactly_the_actions_its_code_calls(synthesized: Synthesized, name: str) -> None:
    actions = actions_of(role_statements(synthesized, name)) - PLATFORM_ACTIONS
    if name in ("Copier", "Aggregator"):
        assert actions >= STREAM_READ_ACTIONS
        actions -= STREAM_READ_ACTIONS
    if name in ("Poller", "Copier", "Aggregator"):
        actions -= DESTINATION_ACTIONS
    assert actions == EXPECTED_ACTIONS[name]


def test_every_setting_a_function_reads_is_set_on_every_function(synthesized: Synthesized) -> None:
    # Given the environment variables functions/settings.py and functions/observability.py read
    read = set(re.findall(r'environ\.get\("([A-Z_]+)"', (ROOT / "functions" / "settings.py").read_text()))
    read |= {"STACK_NAME"}
    optional = {"EVENTHUB_CONFIG_PATH"}  # a local run's config file; AWS carries EVENTHUB_CONFIG
    only_poller = {"SPILL_QUEUE_URL"}
    assert read >= {"TABLE_NAME", "BUCKET_NAME", "EVENTHUB_CONFIG", "RETENTION_DAYS"}
    # Then each function's template environment sets them
    for name in HANDLERS:
        env = _function(synthesized, name)["Environment"]["Variables"]
        wanted = read - optional - (set() if name == "Poller" else only_poller)
        assert wanted <= set(env), (name, wanted - set(env))
        assert env["STACK_NAME"] == "EventHub"


def test_a_failed_poll_run_is_retried_once_then_lands_in_the_pollers_dlq(synthesized: Synthesized) -> None:
    (config,) = synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["FunctionName"] == {"Ref": function_id(synthesized, "Poller")}
    assert props["MaximumRetryAttempts"] == 1
    assert 60 <= props["MaximumEventAgeInSeconds"] <= 900  # near the schedule's own age limit
    dlq = synthesized.logical_id("PollersScheduleDlq", "AWS::SQS::Queue")
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
    sends = [s for s in role_statements(synthesized, "Poller") if "sqs:SendMessage" in actions_of([s])]
    assert any({"Fn::GetAtt": [dlq, "Arn"]} in _resources(s) for s in sends)


def _secret_names(statements: list[dict]) -> set[str]:
    names = set()
    for statement in statements:
        if "secretsmanager:GetSecretValue" not in actions_of([statement]):
            continue
        assert actions_of([statement]) == {"secretsmanager:GetSecretValue"}
        for resource in (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        ):
            tail = resource["Fn::Join"][1][-1]
            names.add(tail.removeprefix(":secret:").removesuffix("-??????"))
    return names


def test_secrets_are_readable_only_by_the_functions_that_use_them(synthesized: Synthesized) -> None:
    config = synthesized.config
    assert _secret_names(role_statements(synthesized, "Intake")) == set(
        stack_config.webhook_secret_names(config)
    )
    assert _secret_names(role_statements(synthesized, "Poller")) == set(
        stack_config.poll_secret_names(config)
    )
    for name in ("Query", "Copier", "Aggregator"):
        assert _secret_names(role_statements(synthesized, name)) == set(), name


def test_stack_outputs_name_what_operators_and_the_cli_need(synthesized: Synthesized) -> None:
    assert {
        "ApiUrl",
        "WebhookExtendProdUrl",
        "WebhookExaProdUrl",
        "WebhookSvixPartnerUrl",
        "TableName",
        "BucketName",
        "SpillQueueUrl",
        "PollerDlqQueueUrl",
        "CopierDlqQueueUrl",
        "AggregatorDlqQueueUrl",
        "AlarmTopicArn",
        "DashboardName",
        "PollerFunctionName",
        "CopierFunctionName",
        "AggregatorFunctionName",
    } == set(synthesized.outputs)
    assert synthesized.outputs["CopierFunctionName"]["Value"] == {
        "Ref": synthesized.logical_id("HubFunctionsCopier", "AWS::Lambda::Function")
    }
    assert synthesized.outputs["TableName"]["Value"] == {
        "Ref": synthesized.logical_id("EventStoreEvents", "AWS::DynamoDB::Table")
    }


def test_each_webhook_connection_has_its_url_as_an_output(synthesized: Synthesized) -> None:
    output = synthesized.outputs["WebhookExtendProdUrl"]["Value"]["Fn::Join"][1]
    assert output[-1] == "/webhooks/extend-prod"  # after the stage URL
    assert {"Ref": synthesized.logical_id("HubApi", "AWS::ApiGateway::RestApi")} in output
    polled_only = [c.id for c in synthesized.config.connections if not c.receives_webhooks]
    assert polled_only == ["klavi-prod", "vai-prod"]
    assert not any("Klavi" in name or "Vai" in name for name in synthesized.outputs)
