"""The five Lambda functions: one shared code asset, one role and one log group each.

Every role starts empty and receives exactly what its function's code calls, through
``grant*`` methods: this construct grants the event store and secrets; the capability
constructs (pollers, copier, aggregator) grant their own queues and stream reads.
"""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.models.config import HubConfig
from infra import bundling
from infra import constants as c
from infra.components.event_store import EventStore
from infra.components.registry import Registry

_LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class HubFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        store: EventStore,
        registry: Registry,
        config: HubConfig,
        retention_days: int = 0,
        intake_concurrency: int | None = c.INTAKE_RESERVED_CONCURRENCY,
        query_snap_start: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self._code = bundling.lambda_code()
        # Connections and keys are not here: the functions read them from the registry by key.
        self._environment = {
            "TABLE_NAME": store.table.table_name,
            "REGISTRY_TABLE_NAME": registry.table.table_name,
            "BUCKET_NAME": store.bucket.bucket_name,
            "MAX_ARTIFACT_BYTES": str(config.max_artifact_bytes),
            "RETENTION_DAYS": str(retention_days),
            "STACK_NAME": Stack.of(self).stack_name,
            "POWERTOOLS_SERVICE_NAME": c.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
            "LOG_LEVEL": c.LOG_LEVEL,
        }
        self._tracing = config.observability.tracing
        if not self._tracing:  # nor is the X-Ray SDK imported (functions/observability.py)
            self._environment["POWERTOOLS_TRACE_DISABLED"] = "true"
        # The intake's reserved concurrency bounds its public function URL (429 beyond it) and keeps
        # a webhook flood from taking the account's concurrency from the other functions.
        self.intake = self._function(c.INTAKE, reserved_concurrency=intake_concurrency)
        self.query = self._function(c.QUERY, snap_start=query_snap_start)
        # With SnapStart the API invokes a published version (through an alias): Lambda restores
        # those from the snapshot it took when the version was published; $LATEST has none.
        self.query_alias: lambda_.Alias | None = None
        if query_snap_start:
            self.query_alias = lambda_.Alias(
                self, "QueryLive", alias_name=c.QUERY_ALIAS, version=self.query.current_version
            )
            Annotations.of(self.query).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish", "the API invokes a published version"
            )
        self.poller = self._function(c.POLLER)
        self.copier = self._function(c.COPIER)
        self.aggregator = self._function(c.AGGREGATOR)
        # The bus's publisher, unless the stack config turns forwarding off.
        self.publisher = self._function(c.PUBLISHER) if config.forwarding.enabled else None
        self._grant_event_store(store)
        # The connection items for the functions that act for a connection, key items for the query.
        for function in (self.intake, self.poller, self.copier):
            registry.grant_read_connections(function)
        registry.grant_read_keys(self.query)
        self._grant_secrets(self.intake)
        self._grant_secrets(self.poller)

    @property
    def all(self) -> dict[str, lambda_.Function]:
        return {
            c.INTAKE.name: self.intake,
            c.QUERY.name: self.query,
            c.POLLER.name: self.poller,
            c.COPIER.name: self.copier,
            c.AGGREGATOR.name: self.aggregator,
            **({c.PUBLISHER.name: self.publisher} if self.publisher is not None else {}),
        }

    @property
    def query_target(self) -> lambda_.IFunction:
        """What the REST API invokes for reads: the query function, or its alias under SnapStart."""
        return self.query_alias or self.query

    def _function(
        self, spec: c.FunctionSpec, *, reserved_concurrency: int | None = None, snap_start: bool = False
    ) -> lambda_.Function:
        role = iam.Role(
            self,
            f"{spec.name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{spec.name} function of the event hub",
        )
        log_group = logs.LogGroup(
            self, f"{spec.name}Logs", retention=_LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            spec.name,
            description=spec.description,
            code=self._code,
            handler=spec.handler,
            runtime=c.RUNTIME,
            architecture=c.ARCHITECTURE,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE if self._tracing else lambda_.Tracing.DISABLED,
            environment=dict(self._environment),
            reserved_concurrent_executions=reserved_concurrency,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            # A replaced version is deleted on the next deploy: a SnapStart version's cached
            # snapshot is billed for as long as the version is active.
            current_version_options=(
                lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY) if snap_start else None
            ),
        )
        if self._tracing:
            NagSuppressions.add_resource_suppressions(
                role,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords "
                        "support no resource-level permissions, so they are granted on '*'.",
                        applies_to=["Resource::*"],
                    )
                ],
                apply_to_children=True,
            )
        # CDK makes a function depend on its whole role construct, so the role's policy exists before
        # the function; the DependsOn entry for the role itself repeats the Role GetAtt (cfn-lint W3005).
        cfn_function: lambda_.CfnFunction = function.node.default_child  # type: ignore[assignment]
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="Python 3.13 is pinned on purpose: the bundler installs cp313 "
                    "manylinux2014_aarch64 wheels (infra/constants.py), and moving the runtime "
                    "moves both together.",
                )
            ],
        )
        return function

    def _grant_event_store(self, store: EventStore) -> None:
        """Exactly the calls each function's code makes (tests/infrastructure/test_least_privilege.py
        runs every function with only these, under moto's IAM enforcement)."""
        table, bucket = store.table, store.bucket
        objects = bucket.arn_for_objects("*")
        # Intake: a conditional put; after a duplicate it reads the stored item's payloadRef.
        # S3: payloads too large for an item, removed again when the put fails.
        table.grant(self.intake, "dynamodb:PutItem", "dynamodb:GetItem")
        self._grant_objects(self.intake, objects, "s3:PutObject", "s3:DeleteObject")
        # Query: reads only (items, index queries, batch gets); S3 reads for spilled payloads and
        # the presigned downloads it signs.
        table.grant(self.query, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
        self._grant_objects(self.query, objects, "s3:GetObject")
        # Poller: events (conditional puts; a batch get of a page's ids skips those already
        # stored), checkpoints and leases (conditional put, delete).
        table.grant(
            self.poller,
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DeleteItem",
        )
        self._grant_objects(self.poller, objects, "s3:PutObject", "s3:DeleteObject")
        # Copier: reads an event and marks its artifacts; streams each file into a multipart
        # upload (PutObject covers create/upload-part/complete), aborts unfinished uploads of the
        # key before a retry; reads an Extend payload file back, and, for an event stored before
        # source URLs were kept in its item, reads the URL from the bucket and deletes it once copied.
        table.grant(self.copier, "dynamodb:GetItem", "dynamodb:UpdateItem")
        self._grant_objects(
            self.copier, objects, "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"
        )
        iam.Grant.add_to_principal(
            grantee=self.copier, actions=["s3:ListBucketMultipartUploads"], resource_arns=[bucket.bucket_arn]
        )
        # Aggregator: the days set, the rebuild window and a counter's watermark (get), a rebuild's
        # markers while its window is open (batch get), the counters (update).
        table.grant(self.aggregator, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem")
        stack = Stack.of(self)
        table_id = stack.get_logical_id(table.node.default_child)  # type: ignore[arg-type]
        bucket_id = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
        for function in self.all.values():
            NagSuppressions.add_resource_suppressions(
                function.role,  # type: ignore[arg-type]
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="The events table's global secondary indexes (<table>/index/*) are "
                        "queried by index name; the grant covers this table's indexes only.",
                        applies_to=[f"Resource::<{table_id}.Arn>/index/*"],
                    ),
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="Named object-level S3 actions on the data bucket's objects only: keys "
                        "are chosen per event at run time.",
                        applies_to=[f"Resource::<{bucket_id}.Arn>/*"],
                    ),
                ],
                apply_to_children=True,
            )

    @staticmethod
    def _grant_objects(function: lambda_.Function, objects: str, *actions: str) -> None:
        iam.Grant.add_to_principal(grantee=function, actions=list(actions), resource_arns=[objects])

    def _grant_secrets(self, function: lambda_.Function) -> None:
        """secretsmanager:GetSecretValue on the secrets under the hub's prefix (``eventhub/``):
        connections added at run time name secrets there, so no grant waits for a deploy."""
        arn = Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{c.SECRET_PREFIX}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=function, actions=["secretsmanager:GetSecretValue"], resource_arns=[arn]
        )
        NagSuppressions.add_resource_suppressions(
            function.role,  # type: ignore[arg-type]
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=f"Secrets under the hub's prefix ({c.SECRET_PREFIX}) only: connections "
                    "added at run time name their secrets there.",
                    applies_to=[
                        f"Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                        f"<AWS::AccountId>:secret:{c.SECRET_PREFIX}*"
                    ],
                )
            ],
            apply_to_children=True,
        )
