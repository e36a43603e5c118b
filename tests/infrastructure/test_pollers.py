"""Scheduled polling: the stack's schedule group, the DLQ, a role that may only invoke the poller."""

from __future__ import annotations

import json

import pytest

from eventhub.registry.schedules import schedule_minutes
from tests.infrastructure.template import Synthesized, actions_of, function_id


@pytest.mark.parametrize(
    ("every_seconds", "minutes"), [(1, 1), (59, 1), (60, 1), (61, 2), (300, 5), (301, 6), (3600, 60)]
)
def test_schedule_rate_rounds_every_seconds_up_to_whole_minutes(every_seconds: int, minutes: int) -> None:
    # When an interval in seconds becomes a Scheduler rate / Then it is whole minutes, rounded up
    assert schedule_minutes(every_seconds) == minutes


def test_the_stack_owns_a_schedule_group_and_no_schedule(synthesized: Synthesized) -> None:
    # Given the synthesized stack (its config names three poll connections)
    # Then it holds one schedule group named after the stack, and no schedule: those are put in
    # the group by `eventhub config apply` and `eventhub connections`, without a deploy
    (group,) = synthesized.of_type("AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == "EventHub-pollers"
    assert synthesized.of_type("AWS::Scheduler::Schedule") == {}
    # And the outputs name what a schedule needs: group, poller, role, dead-letter queue
    assert {"ScheduleGroupName", "PollerFunctionArn", "SchedulerRoleArn", "PollerDlqArn"} <= set(
        synthesized.outputs
    )


def _scheduler_role_id(synthesized: Synthesized) -> str:
    return synthesized.logical_id("PollersSchedulerRole", "AWS::IAM::Role")


def test_scheduler_role_may_only_invoke_the_poller_and_report_to_its_dlq(synthesized: Synthesized) -> None:
    # Given the role Scheduler assumes for the group's schedules
    role_id = _scheduler_role_id(synthesized)
    (statement,) = synthesized.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # Then only this account's schedules of this group may assume it
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":schedule/EventHub-pollers/*" in json.dumps(condition["ArnLike"]["aws:SourceArn"])
    # And it may invoke the poller and send to the pollers' DLQ, nothing else
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = [s for policy in policies for s in policy]
    assert actions_of(statements) - {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"} == {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    }
    poller = function_id(synthesized, "Poller")
    dlq = synthesized.logical_id("PollersScheduleDlq", "AWS::SQS::Queue")
    for statement in statements:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if statement["Action"] == "lambda:InvokeFunction":
            assert all(poller in json.dumps(r) for r in resources)
        else:
            assert resources == [{"Fn::GetAtt": [dlq, "Arn"]}]


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
