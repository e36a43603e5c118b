"""Queues at the end of a failure path: encrypted, TLS-only, kept 14 days, alarmed on depth."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c


def terminal_queue(scope: Construct, construct_id: str, *, holds: str, retain: bool = False) -> sqs.Queue:
    """An encrypted, TLS-only queue at the end of a failure path (it has no dead-letter queue
    itself). ``retain``: it holds data that exists nowhere else, so deleting the stack keeps it."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=c.QUEUE_RETENTION,
        removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
    )
    NagSuppressions.add_resource_suppressions(
        queue,
        [
            NagPackSuppression(
                id="AwsSolutions-SQS3",
                reason=f"This queue is itself a dead-letter destination ({holds}); its depth is "
                "alarmed and its messages are redriven by an operator, not by another queue.",
            )
        ],
    )
    return queue
