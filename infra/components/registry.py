"""The registry: connections and API keys, one item each, read by key by the functions.

A table of its own rather than items in the events table: its items never expire, are not
exported with the events, feed no stream consumer, and each function's role is limited to the
item kind it reads by the partition key's prefix (``dynamodb:LeadingKeys``).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from functions import table_schema as schema
from functions.adapters.registry.items import CONNECTION_PREFIX, KEY_PREFIX


class Registry(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=schema.REGISTRY_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def grant_read_connections(self, grantee: iam.IGrantable) -> None:
        self._grant_read(grantee, CONNECTION_PREFIX)

    def grant_read_keys(self, grantee: iam.IGrantable) -> None:
        self._grant_read(grantee, KEY_PREFIX)

    def _grant_read(self, grantee: iam.IGrantable, prefix: str) -> None:
        """GetItem on the registry's items whose key starts with ``prefix``, and nothing else."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[self.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*"]}},
            )
        )
