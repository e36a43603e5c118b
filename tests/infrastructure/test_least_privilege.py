"""Every function does its whole job holding only what its role holds in the synthesized template.

moto enforces IAM here: each handler runs in-process with the credentials of a moto role whose
policy is that function's statements from the template (resources widened to ``*``: the names
differ locally, and the template tests pin the resources). A webhook arrives twice, a poll pulls
an event with a result file, the stream feeds the copier and the aggregator, and the query API
serves the events, the copied file and the counts. Removing any one action a function uses
breaks its step (the second test), so a grant cannot be narrowed past what the code calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.config import Config as BotoConfig
from moto.core import enable_iam_authentication

from eventhub.demo import KlaviFake, VaiFake
from eventhub.local.proxy_events import proxy_event
from eventhub.local.routes import ROUTES, find_route
from eventhub.local.signing import sign
from eventhub.local.streams.dispatcher import StreamDispatcher
from eventhub.local.streams.subscriptions import Subscription, local_subscriptions
from functions.adapters import factory
from functions.handlers import aggregator, copier, intake, poller, publisher, query
from functions.logic.copying.deps import RetryPolicy
from functions.models.config import HubConfig, Provider
from tests.conftest import EVENTS_DIR, FakeContext, sensitive, use_config
from tests.infrastructure.template import Synthesized, role_statements

EXTEND_SECRET = "wss_least_privilege_extend_secret"
KLAVI_SECRET = "klavi-least-privilege-secret"
VAI_SECRET = "vai-least-privilege-api-key"
API_KEY = "least-privilege-api-key-0001"
SECRET_NAMES = {
    "eventhub/extend-iam/signing-secret": EXTEND_SECRET,
    "eventhub/klavi-iam/secret-key": KLAVI_SECRET,
    "eventhub/vai-iam/api-key": VAI_SECRET,
}
FUNCTIONS = ("Intake", "Query", "Poller", "Copier", "Aggregator", "Publisher")
STEPS = ("webhook", "poll", "copy", "count", "serve", "publish")
# The step that needs each function: removing one of its actions must break this step.
STEP_OF = {"Intake": "webhook", "Poller": "poll", "Copier": "copy", "Aggregator": "count", "Query": "serve",
           "Publisher": "publish"}  # fmt: skip


def policy_document(statements: list[dict[str, Any]], without: str | None = None) -> dict[str, Any]:
    """A role's statements as one policy moto can evaluate, optionally without one action."""
    actions: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions.update([found] if isinstance(found, str) else found)
    actions.discard(without)
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}],
    }


@dataclass
class Roles:
    """Credentials per function (assumed moto roles), and an administrator for the harness."""

    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    monkeypatch: pytest.MonkeyPatch | None = None

    @contextmanager
    def acting_as(self, name: str) -> Iterator[None]:
        assert self.monkeypatch is not None
        creds = self.credentials[name]
        with self.monkeypatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
            env.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
            env.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
            fresh_clients()
            try:
                yield
            finally:
                fresh_clients()

    def client(self, service: str, **kwargs: Any) -> Any:
        creds = self.credentials["admin"]
        return boto3.client(
            service,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            **kwargs,
        )


def fresh_clients() -> None:
    """What a new container would build: boto3 clients and Powertools' secrets provider."""
    factory.reset()
    parameters.base.DEFAULT_PROVIDERS.clear()


def assume(iam: Any, sts: Any, name: str, document: dict[str, Any]) -> dict[str, str]:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(document))
    return sts.assume_role(RoleArn=arn, RoleSessionName=name)["Credentials"]


@pytest.fixture
def klavi() -> Iterator[KlaviFake]:
    with KlaviFake(KLAVI_SECRET) as fake:  # serves its result files itself, on 127.0.0.1
        yield fake  # type: ignore[misc]


@pytest.fixture
def vai() -> Iterator[VaiFake]:
    with VaiFake(VAI_SECRET) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def hub(
    lambda_env: dict[str, Any],
    klavi: KlaviFake,
    vai: VaiFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """The stack's resources in moto, a config whose secrets live in Secrets Manager, and the
    two provider fakes (Klavi's queue, VAI's paged list)."""
    sensitive(EXTEND_SECRET, KLAVI_SECRET, VAI_SECRET, API_KEY)
    config = {
        "allowLoopbackArtifacts": True,
        "connections": [
            {
                "id": "extend-iam",
                "provider": "extend",
                "tenantId": "acme",
                "secrets": [{"secretsManager": "eventhub/extend-iam/signing-secret"}],
            },
            {
                "id": "klavi-iam",
                "provider": "klavi",
                "tenantId": "acme",
                "artifactHosts": ["127.0.0.1", "localhost"],
                "poll": {
                    "baseUrl": klavi.url,
                    "everySeconds": 60,
                    "secretKey": {"secretsManager": "eventhub/klavi-iam/secret-key"},
                },
            },
            {
                "id": "vai-iam",
                "provider": "vai",
                "tenantId": "acme",
                "poll": {
                    "baseUrl": vai.url,
                    "everySeconds": 60,
                    "apiKey": {"secretsManager": "eventhub/vai-iam/api-key"},
                },
            },
        ],
        "apiKeys": [{"tenantId": "acme", "keyHash": hashlib.sha256(API_KEY.encode()).hexdigest()}],
    }
    use_config(lambda_env, HubConfig.model_validate(config), monkeypatch)
    # A consumer: a rule on the hub's bus with an SQS queue as its target
    queue = lambda_env["sqs"].create_queue(QueueName="consumer")["QueueUrl"]
    arn = lambda_env["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    bus, rule = lambda_env["event_bus"], {"source": [{"prefix": "eventhub."}]}
    lambda_env["events"].put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps(rule))
    lambda_env["events"].put_targets(
        Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn["QueueArn"]}]
    )
    monkeypatch.setattr(copier, "RETRY_POLICY", RetryPolicy(attempts=2, base_delay=0))
    secrets = boto3.client("secretsmanager")
    for name, value in SECRET_NAMES.items():
        secrets.create_secret(Name=name, SecretString=value)
    factory.reset()
    return {**lambda_env, "klavi": klavi, "vai": vai, "consumer_queue": queue}


def make_roles(
    synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch, without: tuple[str, str] | None
) -> Roles:
    iam, sts = boto3.client("iam"), boto3.client("sts")
    roles = Roles(monkeypatch=monkeypatch)
    for name in FUNCTIONS:
        removed = without[1] if without and without[0] == name else None
        document = policy_document(role_statements(synthesized, name), without=removed)
        roles.credentials[name] = assume(iam, sts, f"eventhub-{name}", document)
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    roles.credentials["admin"] = assume(iam, sts, "eventhub-harness", admin)
    return roles


def api(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    route, params = find_route(ROUTES, path.split("?")[0])  # type: ignore[misc]
    event = proxy_event(
        method=method,
        raw_path=path,
        headers=list((headers or {}).items()),
        body=body,
        route=route,
        path_parameters=params,
    )
    handler = intake.handler if path.startswith("/webhooks/") else query.handler
    return handler(event, FakeContext())


class Flow:
    """The stack's work in order; each step records whether it did its job."""

    def __init__(self, hub: dict[str, Any], roles: Roles) -> None:
        self.hub, self.roles = hub, roles
        self.done: dict[str, bool] = {}
        self.given_up: list[str] = []

    def run(self) -> dict[str, bool]:
        steps: dict[str, Callable[[], bool]] = {
            "webhook": self.webhook,
            "poll": self.poll,
            "copy": self.copy,
            "count": self.count,
            "serve": self.serve,
            "publish": self.publish,
        }
        self.stream_delivered = False
        for name, step in steps.items():
            try:
                self.done[name] = step()
            except AssertionError:  # a check of the harness failed: that is no denied action
                raise
            except Exception:  # a handler that raised did not do its job
                self.done[name] = False
        return self.done

    def webhook(self) -> bool:
        # A payload over the inline limit (kept in S3): its duplicate reads the stored item back
        sample = json.loads((EVENTS_DIR / "webhooks" / "extend" / "classify_run.processed.json").read_text())
        sample["payload"]["metadata"] = {"notes": "x" * 400_000}
        body = json.dumps(sample).encode()
        with self.roles.acting_as("Intake"):
            first = api("POST", "/webhooks/extend-iam", body, sign(Provider.EXTEND, EXTEND_SECRET, body))
            again = api("POST", "/webhooks/extend-iam", body, sign(Provider.EXTEND, EXTEND_SECRET, body))
        return (
            first["statusCode"] == 200
            and again["statusCode"] == 200
            and json.loads(again["body"]).get("duplicate") is True
        )

    def poll(self) -> bool:
        # Klavi's queue (an event with a result file) and VAI's list (ids checked in a batch)
        self.hub["klavi"].enqueue(1)
        self.hub["vai"].add_events(1, start=datetime.now(UTC) - timedelta(minutes=5))
        summaries = []
        for connection in ("klavi-iam", "vai-iam"):
            with self.roles.acting_as("Poller"):
                summaries.append(poller.handler({"connectionId": connection}, FakeContext()))
        return all(s["outcome"] == "completed" and s["new"] == 1 for s in summaries)

    def _dispatch(self, subscription: Subscription, function: str) -> bool:
        given_up: list[dict[str, Any]] = []
        streams = self.roles.client("dynamodbstreams", config=BotoConfig(account_id_endpoint_mode="disabled"))
        arn = self.roles.client("dynamodb").describe_table(TableName=self.hub["table"])["Table"][
            "LatestStreamArn"
        ]
        dispatcher = StreamDispatcher([subscription])

        def invoke(handler: str, event: dict[str, Any]) -> Any:
            with self.roles.acting_as(function):
                handlers = {"Copier": copier, "Aggregator": aggregator, "Publisher": publisher}
                return handlers[function].handler(event, FakeContext())

        dispatcher.attach(streams, arn, invoke, lambda sub, message: given_up.append(message))
        return dispatcher.poll_once() > 0 and not given_up

    def copy(self) -> bool:
        delivered = self._dispatch(next(s for s in local_subscriptions() if s.name == "copier"), "Copier")
        listed = self.roles.client("s3").list_objects_v2(Bucket=self.hub["bucket"]).get("Contents", [])
        return delivered and any(o["Key"].startswith("artifacts/acme/klavi/") for o in listed)

    def publish(self) -> bool:
        # Every stored event, and the Klavi event's copied file, reach a consumer's queue
        delivered = self._dispatch(
            next(s for s in local_subscriptions() if s.name == "publisher"), "Publisher"
        )
        sqs, bodies = self.roles.client("sqs"), []
        for _ in range(5):
            answer = sqs.receive_message(QueueUrl=self.hub["consumer_queue"], MaxNumberOfMessages=10)
            bodies += [json.loads(m["Body"]) for m in answer.get("Messages", [])]
        kinds = sorted(b["detail-type"] for b in bodies if b["source"] == "eventhub.artifact")
        events = {b["detail"]["id"] for b in bodies if b["source"] != "eventhub.artifact"}
        return delivered and len(events) == 3 and kinds == ["artifact.copied"]

    def count(self) -> bool:
        return self._dispatch(next(s for s in local_subscriptions() if s.name == "aggregator"), "Aggregator")

    def serve(self) -> bool:
        key = {"X-API-Key": API_KEY}
        with self.roles.acting_as("Query"):
            listed = api("GET", "/api/v1/events", headers=key)
            events = json.loads(listed["body"]).get("events", []) if listed["statusCode"] == 200 else []
            pulled = [e for e in events if e["actorId"] == "klavi-iam"]
            artifacts = (
                api("GET", f"/api/v1/events/{pulled[0]['id']}/artifacts/0", headers=key) if pulled else {}
            )
            counts = api("GET", "/api/v1/events/aggregate", headers=key)
        total = json.loads(counts["body"]).get("total") if counts["statusCode"] == 200 else None
        return len(events) == 3 and artifacts.get("statusCode") == 302 and total == 3


def run_flow(
    synthesized: Synthesized,
    hub: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    without: tuple[str, str] | None = None,
) -> dict[str, bool]:
    roles = make_roles(synthesized, monkeypatch, without)
    with enable_iam_authentication():
        return Flow(hub, roles).run()


def test_every_function_does_its_job_with_only_its_roles_actions(
    synthesized: Synthesized, hub: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given each function holding exactly its role's actions, under IAM enforcement
    # When a webhook arrives twice, a poll pulls an event with a file, the stream is consumed and
    # the query API is asked for the events, the file and the counts
    done = run_flow(synthesized, hub, monkeypatch)
    # Then every step did its job
    assert done == dict.fromkeys(STEPS, True)


# One action each function's code calls on its main path; without it that function's step fails.
# (The copier's s3:GetObject is off this path: it reads back an Extend signed_data_url file, and
# the source URL of an event stored when URLs were stashed in the bucket.)
REMOVED = [
    ("Intake", "dynamodb:PutItem"),
    ("Intake", "dynamodb:GetItem"),  # a large payload's duplicate reads the stored reference
    ("Intake", "s3:PutObject"),  # the large payload itself
    ("Intake", "secretsmanager:GetSecretValue"),
    ("Poller", "dynamodb:BatchGetItem"),
    ("Poller", "secretsmanager:GetSecretValue"),
    ("Copier", "s3:PutObject"),
    ("Copier", "dynamodb:UpdateItem"),
    ("Aggregator", "dynamodb:GetItem"),  # the days set, read before it is written
    ("Aggregator", "dynamodb:UpdateItem"),
    ("Query", "dynamodb:Query"),
    ("Query", "dynamodb:BatchGetItem"),
    ("Query", "s3:GetObject"),  # the large payload, served inline
    ("Publisher", "events:PutEvents"),
]


@pytest.mark.parametrize(("function", "action"), REMOVED, ids=[f"{f}-{a}" for f, a in REMOVED])
def test_without_one_action_that_functions_step_fails(
    synthesized: Synthesized,
    hub: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    action: str,
) -> None:
    # Given the same run with one action taken from one function's role
    done = run_flow(synthesized, hub, monkeypatch, without=(function, action))
    # Then that function's step fails, and every step before it still did its job
    step = STEP_OF[function]
    assert done[step] is False
    before = STEPS[: STEPS.index(step)]
    assert all(done[s] for s in before), done
