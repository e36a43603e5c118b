"""Scheduled polling: one schedule per poll connection, retries, DLQ, a role that only invokes."""

from __future__ import annotations

import json

import pytest

from infra.components.pollers import schedule_minutes
from tests.infrastructure.template import Synthesized, actions_of, function_id


@pytest.mark.parametrize(
    ("every_seconds", "minutes"), [(1, 1), (59, 1), (60, 1), (61, 2), (300, 5), (301, 6), (3600, 60)]
)
def test_schedule_rate_rounds_every_seconds_up_to_whole_minutes(every_seconds: int, minutes: int) -> None:
    # When a poll interval in seconds becomes a schedule rate
    # Then it is rounded up to whole minutes, never below one
    assert schedule_minutes(every_seconds) == minutes


def _schedules(synthesized: Synthesized) -> dict[str, dict]:
    return {
        json.loads(s["Properties"]["Target"]["Input"])["connectionId"]: s["Properties"]
        for s in synthesized.of_type("AWS::Scheduler::Schedule").values()
    }


def test_every_poll_connection_has_one_schedule_and_no_other_does(synthesized: Synthesized) -> None:
    # Given the connections the configuration polls
    polled = {conn.id for conn in synthesized.config.connections if conn.poll is not None}
    assert polled == {"klavi-prod", "vai-prod", "exa-prod"}
    # When the synthesized stack's schedules are read
    # Then there is exactly one per polled connection and none for any other
    assert set(_schedules(synthesized)) == polled
    assert len(synthesized.of_type("AWS::Scheduler::Schedule")) == len(polled)


def test_schedule_rate_follows_the_connection_interval(synthesized: Synthesized) -> None:
    # When the synthesized stack's schedules are read
    schedules = _schedules(synthesized)
    # Then each polled connection's runs at its interval, in whole minutes, and is enabled
    for conn in synthesized.config.connections:
        if conn.poll is None:
            continue
        minutes = schedule_minutes(conn.poll.every_seconds)
        unit = "minute" if minutes == 1 else "minutes"
        assert schedules[conn.id]["ScheduleExpression"] == f"rate({minutes} {unit})"
        assert schedules[conn.id]["State"] == "ENABLED"


def test_schedules_target_the_poller_with_retries_and_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Given the poller and the pollers' dead-letter queue
    poller = function_id(synthesized, "Poller")
    dlq = synthesized.logical_id("PollersScheduleDlq", "AWS::SQS::Queue")
    # When the synthesized stack's schedules' targets are read
    targets = [s["Target"] for s in _schedules(synthesized).values()]
    assert targets, "the stack has no schedule"
    for target in targets:
        # Then each invokes the poller
        assert target["Arn"] == {"Fn::GetAtt": [poller, "Arn"]}
        # And sends what it cannot deliver to the dead-letter queue after retrying, within an hour
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600


def test_scheduler_role_may_only_invoke_the_poller_and_report_to_its_dlq(synthesized: Synthesized) -> None:
    # When the role the schedules invoke with is read
    role_ids = {s["Target"]["RoleArn"]["Fn::GetAtt"][0] for s in _schedules(synthesized).values()}
    # Then they all share one role, which only EventBridge Scheduler in this account may assume
    (role_id,) = role_ids
    (statement,) = synthesized.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # And its policies allow only invoking the poller and sending to the pollers' dead-letter queue
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = [s for policy in policies for s in policy]
    assert actions_of(statements) == {"lambda:InvokeFunction", "sqs:SendMessage"}
    poller = function_id(synthesized, "Poller")
    for statement in statements:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if statement["Action"] == "lambda:InvokeFunction":
            assert all(poller in json.dumps(r) for r in resources)
        else:
            assert resources == [
                {"Fn::GetAtt": [synthesized.logical_id("PollersScheduleDlq", "AWS::SQS::Queue"), "Arn"]}
            ]


@pytest.mark.parametrize("queue", ["PollersSpill", "PollersScheduleDlq"])
def test_poller_queues_are_encrypted_and_tls_only(synthesized: Synthesized, queue: str) -> None:
    # When one of the pollers' queues is read from the synthesized stack
    queue_id = synthesized.logical_id(queue, "AWS::SQS::Queue")
    props = synthesized.resources[queue_id]["Properties"]
    # Then it is encrypted and keeps messages for 14 days
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    # And its policy denies requests over plain HTTP
    (policy,) = [
        p
        for p in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
