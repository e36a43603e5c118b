"""The Lambda functions: runtime, entry points, environment, and least-privilege roles."""

from __future__ import annotations

import json
import re

import pytest

from tests.infrastructure.conftest import ROOT
from tests.infrastructure.template import Synthesized, actions_of, function_id, role_statements

HANDLERS = {
    "Intake": "functions.handlers.intake.handler",
    "Query": "functions.handlers.query.handler",
    "Poller": "functions.handlers.poller.handler",
    "Copier": "functions.handlers.copier.handler",
    "Aggregator": "functions.handlers.aggregator.handler",
    "Publisher": "functions.handlers.publisher.handler",
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


def test_the_stack_has_exactly_the_six_functions(synthesized: Synthesized) -> None:
    # When the handlers of the synthesized stack's functions are read
    handlers = sorted(
        f["Properties"]["Handler"] for f in synthesized.of_type("AWS::Lambda::Function").values()
    )
    # Then they are exactly the hub's five handlers
    assert handlers == sorted(HANDLERS.values())


@pytest.mark.parametrize(("name", "handler"), HANDLERS.items())
def test_function_runs_arm64_python313_untraced_by_default(
    synthesized: Synthesized, name: str, handler: str
) -> None:
    # When one of the hub's functions is read from the synthesized stack
    props = _function(synthesized, name)
    # Then it runs its handler on Python 3.13 on arm64
    assert props["Handler"] == handler
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    # And it does not trace (observability.tracing is off by default) nor load the X-Ray SDK, and
    # logs to its own log group
    assert props.get("TracingConfig", {"Mode": "PassThrough"}) == {"Mode": "PassThrough"}
    assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert props["LoggingConfig"]["LogGroup"] == {
        "Ref": synthesized.logical_id(f"HubFunctions{name}Logs", "AWS::Logs::LogGroup")
    }


@pytest.mark.parametrize("name", HANDLERS)
def test_function_environment_names_the_resources_and_powertools(synthesized: Synthesized, name: str) -> None:
    # When one of the hub's functions is read from the synthesized stack
    env = _function(synthesized, name)["Environment"]["Variables"]
    # Then its environment names the events table and the data bucket
    assert env["TABLE_NAME"] == {"Ref": synthesized.logical_id("EventStoreEvents", "AWS::DynamoDB::Table")}
    assert env["BUCKET_NAME"] == {"Ref": synthesized.logical_id("EventStoreData", "AWS::S3::Bucket")}
    # And configures Powertools' service, metrics namespace and log level
    assert env["POWERTOOLS_SERVICE_NAME"] == "eventhub"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "EventHub"
    assert env["LOG_LEVEL"] == "INFO"
    # And sets no retention by default
    assert env["RETENTION_DAYS"] == "0", "events are kept until -c retentionDays=N sets a TTL"
    assert env["REGISTRY_TABLE_NAME"] == {
        "Ref": synthesized.logical_id("RegistryTable", "AWS::DynamoDB::Table")
    }


@pytest.mark.parametrize("name", HANDLERS)
def test_the_environment_carries_no_connection_key_or_secret_name(
    synthesized: Synthesized, name: str
) -> None:
    # Given a function's environment in the template
    env = _function(synthesized, name)["Environment"]["Variables"]
    text = json.dumps(env)
    # Then no connection id, secret name or key hash of the config is in it: the functions
    # read those from the registry, so the environment is the same size whatever it holds
    config = synthesized.config
    assert "EVENTHUB_CONFIG" not in env
    assert not [c.id for c in config.connections if c.id in text]
    assert not [k.digest for k in config.api_keys if k.digest in text]
    assert "eventhub/" not in text
    assert len(text.encode()) < 2048, "a fixed, small environment (Lambda allows 4 KB)"


def _registry_reads(synthesized: Synthesized, name: str) -> list[dict]:
    registry = synthesized.logical_id("RegistryTable", "AWS::DynamoDB::Table")
    return [s for s in role_statements(synthesized, name) if registry in json.dumps(s["Resource"])]


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("Intake", "connection#*"),
        ("Poller", "connection#*"),
        ("Copier", "connection#*"),
        ("Query", "apikey#*"),
    ],
)
def test_each_function_reads_only_its_kind_of_registry_item(
    synthesized: Synthesized, name: str, prefix: str
) -> None:
    # Given the function's statements on the registry table
    (statement,) = _registry_reads(synthesized, name)
    # Then it may GetItem, and only items whose key starts with its prefix
    assert statement["Action"] == "dynamodb:GetItem"
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [prefix]}}


def test_the_aggregator_cannot_read_the_registry(synthesized: Synthesized) -> None:
    assert _registry_reads(synthesized, "Aggregator") == []


def test_only_the_poller_knows_the_spill_queue(synthesized: Synthesized) -> None:
    # Given the spill queue and the hub's functions
    spill = synthesized.logical_id("PollersSpill", "AWS::SQS::Queue")
    # When each function's environment is read
    # Then the poller's environment names the spill queue, and no other function's does
    for name in HANDLERS:
        env = _function(synthesized, name)["Environment"]["Variables"]
        if name == "Poller":
            assert env["SPILL_QUEUE_URL"] == {"Ref": spill}
        else:
            assert "SPILL_QUEUE_URL" not in env


def test_each_function_has_its_own_role(synthesized: Synthesized) -> None:
    # When the role of each function is read
    roles = [_function(synthesized, name)["Role"]["Fn::GetAtt"][0] for name in HANDLERS]
    # Then every function has a role of its own
    assert len(set(roles)) == len(HANDLERS)
    # And each role holds no managed policy and is assumable by Lambda alone
    for role_id in roles:
        role = synthesized.resources[role_id]["Properties"]
        assert "ManagedPolicyArns" not in role, "no managed policies: every permission is granted explicitly"
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_query_role_can_read_but_never_write_the_table(synthesized: Synthesized) -> None:
    # When the query function's role is read
    actions = actions_of(role_statements(synthesized, "Query"))
    # Then it may read the table (get, batch get, query) and nothing more of DynamoDB
    dynamodb = {a for a in actions if a.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    # And it may not write, delete or abort anything in the bucket
    assert not any(a.startswith(("s3:Put", "s3:Delete", "s3:Abort")) for a in actions)
    # And it may not scan
    assert "dynamodb:Scan" not in actions


def test_intake_role_writes_events_but_cannot_query_or_scan(synthesized: Synthesized) -> None:
    # When the intake function's role is read
    actions = actions_of(role_statements(synthesized, "Intake"))
    # Then it may put and get events and put objects
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "s3:PutObject"} <= actions
    # And it may neither query nor scan the table, nor use any queue
    assert "dynamodb:Query" not in actions and "dynamodb:Scan" not in actions
    assert not any(a.startswith("sqs:") for a in actions)


def test_aggregator_role_touches_no_bucket_and_no_secret(synthesized: Synthesized) -> None:
    # When the aggregator function's role is read
    actions = actions_of(role_statements(synthesized, "Aggregator"))
    # Then it may update the counters
    assert "dynamodb:UpdateItem" in actions
    # And it may touch no bucket and no secret
    assert not any(a.startswith(("s3:", "secretsmanager:")) for a in actions)


def test_only_the_poller_may_send_to_the_spill_queue(synthesized: Synthesized) -> None:
    # Given the spill queue and the hub's functions
    spill = {"Fn::GetAtt": [synthesized.logical_id("PollersSpill", "AWS::SQS::Queue"), "Arn"]}
    # When each function's grants to send messages are read
    for name in HANDLERS:
        sends = [s for s in role_statements(synthesized, name) if "sqs:SendMessage" in actions_of([s])]
        targets_spill = any(spill in _resources(s) for s in sends)
        # Then only the poller's grants reach the spill queue
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
    "Publisher": {"events:PutEvents", "sqs:SendMessage"},
    "Aggregator": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "sqs:SendMessage"},
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
    # When a function's role is read, less the platform's log and trace actions
    actions = actions_of(role_statements(synthesized, name)) - PLATFORM_ACTIONS
    # And less the stream reads of the stream consumers and the failure destination's queue lookups
    if name in ("Copier", "Aggregator", "Publisher"):
        assert actions >= STREAM_READ_ACTIONS
        actions -= STREAM_READ_ACTIONS
    if name in ("Poller", "Copier", "Aggregator", "Publisher"):
        actions -= DESTINATION_ACTIONS
    # Then what is left is exactly what the function's code calls
    assert actions == EXPECTED_ACTIONS[name]


def test_every_setting_a_function_reads_is_set_on_every_function(synthesized: Synthesized) -> None:
    # Given the environment variables functions/settings.py and functions/observability.py read
    read = set(re.findall(r'environ\.get\("([A-Z_]+)"', (ROOT / "functions" / "settings.py").read_text()))
    read |= {"STACK_NAME"}
    optional = {"ALLOW_LOOPBACK_ARTIFACTS", "REGISTRY_CACHE_SECONDS", "EVENTHUB_COUNTER_WORKERS"}  # defaults
    only = {"SPILL_QUEUE_URL": "Poller", "EVENT_BUS_NAME": "Publisher"}
    assert read >= {"TABLE_NAME", "BUCKET_NAME", "REGISTRY_TABLE_NAME", "RETENTION_DAYS"}
    # Then each function's template environment sets them
    for name in HANDLERS:
        # When each function's template environment is read
        env = _function(synthesized, name)["Environment"]["Variables"]
        # Then it sets them all (the spill queue's on the poller, the bus's on the publisher only)
        wanted = read - optional - {var for var, owner in only.items() if owner != name}
        assert wanted <= set(env), (name, wanted - set(env))
        assert env["STACK_NAME"] == "EventHub"


def test_a_failed_poll_run_is_retried_once_then_lands_in_the_pollers_dlq(synthesized: Synthesized) -> None:
    # When the synthesized stack's asynchronous invocation settings are read
    (config,) = synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    # Then they are the poller's
    assert props["FunctionName"] == {"Ref": function_id(synthesized, "Poller")}
    # And a failed poll run is retried once, while the event is still fresh
    assert props["MaximumRetryAttempts"] == 1
    assert 60 <= props["MaximumEventAgeInSeconds"] <= 900  # near the schedule's own age limit
    # And then sent to the pollers' dead-letter queue
    dlq = synthesized.logical_id("PollersScheduleDlq", "AWS::SQS::Queue")
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
    # And the poller's role may send to that queue
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


def test_secrets_are_readable_only_under_the_prefix_by_the_functions_that_use_them(
    synthesized: Synthesized,
) -> None:
    # Then intake (webhook secrets) and the poller (poll credentials) read secrets under the hub's
    # prefix, so a connection added at run time needs no new grant; no other function reads any
    assert _secret_names(role_statements(synthesized, "Intake")) == {"eventhub/*"}
    assert _secret_names(role_statements(synthesized, "Poller")) == {"eventhub/*"}
    for name in ("Query", "Copier", "Aggregator", "Publisher"):
        assert _secret_names(role_statements(synthesized, name)) == set(), name


def test_stack_outputs_name_what_operators_and_the_cli_need(synthesized: Synthesized) -> None:
    # When the synthesized stack's outputs are read
    # Then they are exactly what operators and the CLI use
    assert {
        "ApiUrl",
        "WebhookBaseUrl",
        "TableName",
        "RegistryTableName",
        "ScheduleGroupName",
        "SchedulerRoleArn",
        "PollerFunctionArn",
        "PollerDlqArn",
        "SecretPrefix",
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
        "PublisherFunctionName",
        "PublisherDlqQueueUrl",
        "EventBusName",
        "EventBusArn",
    } == set(synthesized.outputs)
    # And the function name and table name outputs refer to their resources
    assert synthesized.outputs["CopierFunctionName"]["Value"] == {
        "Ref": synthesized.logical_id("HubFunctionsCopier", "AWS::Lambda::Function")
    }
    assert synthesized.outputs["TableName"]["Value"] == {
        "Ref": synthesized.logical_id("EventStoreEvents", "AWS::DynamoDB::Table")
    }


def test_the_webhook_base_url_is_the_intakes_function_url_and_the_api_url_the_rest_apis(
    synthesized: Synthesized,
) -> None:
    # Then a connection's webhook URL is the output followed by its id: the function URL (which
    # ends in a slash) followed by webhooks/
    output = synthesized.outputs["WebhookBaseUrl"]["Value"]["Fn::Join"][1]
    url = synthesized.logical_id("WebhooksUrl", "AWS::Lambda::Url")
    assert output == [{"Fn::GetAtt": [url, "FunctionUrl"]}, "webhooks/"]
    # And ApiUrl, which the CLI reads the query API's address from, is the REST API's stage URL
    api_url = synthesized.outputs["ApiUrl"]["Value"]["Fn::Join"][1]
    assert {"Ref": synthesized.logical_id("HubApi", "AWS::ApiGateway::RestApi")} in api_url


# Memory per function (infra/constants.py says why each; docs/performance.md has the figures).
MEMORY_MB = {"Intake": 512, "Query": 512, "Poller": 256, "Copier": 512, "Aggregator": 256, "Publisher": 256}


@pytest.mark.parametrize(("name", "memory"), MEMORY_MB.items())
def test_each_function_has_the_memory_its_measurements_call_for(
    synthesized: Synthesized, name: str, memory: int
) -> None:
    # When one of the hub's functions is read from the synthesized stack
    props = _function(synthesized, name)
    # Then it has the memory chosen for it
    assert props["MemorySize"] == memory


def test_the_copiers_memory_holds_its_part_buffers_with_room() -> None:
    from functions.logic.copying.deps import PART_SIZE, PARTS_IN_FLIGHT, MiB
    from infra import constants as c

    # Given the parts a large copy holds at once: those in flight, the one being read, the one
    # being hashed, over the ~75 MiB the copier peaks at with a small file
    buffers_mib = (PARTS_IN_FLIGHT + 2) * PART_SIZE // MiB
    # Then the copier's memory is at least three times what a large copy needs
    assert c.COPIER.memory_mb >= 3 * (75 + buffers_mib)
