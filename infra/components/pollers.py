"""Scheduled polling: the schedule group, the role Scheduler uses, the DLQ and the spill queue.

The stack owns an EventBridge Scheduler group; ``eventhub config apply`` and ``eventhub
connections`` put one schedule per poll connection in it (``eventhub/registry/schedules.py``),
invoking the poller with ``{"connectionId": id}`` every ``ceil(everySeconds / 60)`` minutes,
retrying a failed invocation and sending what it could not deliver to the dead-letter queue. So a
poll connection is added, changed or removed without a deploy. The spill queue is where the
poller puts a pulled event it could not store, so that nothing pulled is ever lost.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c
from infra.components.queues import terminal_queue


class Pollers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        poller: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        # Retained: events pulled but not yet stored exist nowhere else (the provider has dequeued them).
        self.spill_queue = terminal_queue(
            self, "Spill", holds="pulled events the poller could not store", retain=True
        )
        self.dead_letter_queue = terminal_queue(
            self,
            "ScheduleDlq",
            holds="scheduled poller invocations that could not be delivered, and runs that failed after "
            "their retry",
        )
        self.spill_queue.grant(poller, "sqs:SendMessage")  # the poller's code only sends
        poller.add_environment("SPILL_QUEUE_URL", self.spill_queue.queue_url)
        self._bound_async_retries(poller)
        self.group = scheduler.ScheduleGroup(
            self,
            "Schedules",
            schedule_group_name=f"{Stack.of(self).stack_name}-pollers",
            removal_policy=RemovalPolicy.DESTROY,  # its schedules follow the registry, re-applied
        )
        self.role = self._scheduler_role()
        poller.grant_invoke(self.role)
        self.dead_letter_queue.grant_send_messages(self.role)
        self._suppress_invoke_versions(poller)

    def _bound_async_retries(self, poller: lambda_.Function) -> None:
        """Scheduler invokes the poller asynchronously: its retry policy and DLQ cover delivery only.
        A run that raises is Lambda's to retry, by default twice over up to 6 h, and nothing would
        reach the DLQ. One retry, an age limit of one schedule's patience, then the DLQ (alarmed)."""
        poller.configure_async_invoke(
            retry_attempts=c.POLLER_ASYNC_RETRY_ATTEMPTS,
            max_event_age=c.SCHEDULE_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )

    def _scheduler_role(self) -> iam.Role:
        """Shared by every schedule: may invoke the poller (and report to the DLQ), nothing else."""
        return iam.Role(
            self,
            "SchedulerRole",
            # Only this account's schedules may assume it (the confused-deputy guard AWS documents).
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ArnLike": {"aws:SourceArn": self._schedules_arn()},
                },
            ),
            description="EventBridge Scheduler: invoke the event hub's poller",
        )

    def _schedules_arn(self) -> str:
        """The ARNs of the schedules in this stack's group (Scheduler's source ARN)."""
        return Stack.of(self).format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group.schedule_group_name}/*",
        )

    def _suppress_invoke_versions(self, poller: lambda_.Function) -> None:
        poller_id = Stack.of(self).get_logical_id(poller.node.default_child)  # type: ignore[arg-type]
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="lambda:InvokeFunction on the poller and its versions (<arn>:*), the form "
                    "CDK's grantInvoke emits; no other function.",
                    applies_to=[f"Resource::<{poller_id}.Arn>:*"],
                )
            ],
            apply_to_children=True,
        )
