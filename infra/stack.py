"""The event hub stack: composes one construct per capability and exports what operators need."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from functions.models.config import HubConfig
from infra import constants as c
from infra.components.api import HubApi, QueryApi
from infra.components.event_store import EventStore
from infra.components.functions import HubFunctions
from infra.components.monitoring import Monitoring
from infra.components.pollers import Pollers
from infra.components.registry import Registry
from infra.components.stream_consumers import Aggregator, ArtifactCopier, Forwarding
from infra.components.webhooks import WebhookUrl


class EventHubStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: HubConfig,
        retention_days: int = 0,
        create_account_role: bool = True,
        intake_concurrency: int | None = c.INTAKE_RESERVED_CONCURRENCY,
        query_snap_start: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.store = EventStore(self, "EventStore")
        self.registry = Registry(self, "Registry")
        self.functions = HubFunctions(
            self,
            "HubFunctions",
            store=self.store,
            registry=self.registry,
            config=config,
            retention_days=retention_days,
            intake_concurrency=intake_concurrency,
            query_snap_start=query_snap_start,
        )
        fns = self.functions
        self.pollers = Pollers(self, "Pollers", poller=fns.poller)
        self.copier = ArtifactCopier(self, "ArtifactCopier", copier=fns.copier, table=self.store.table)
        self.aggregator = Aggregator(self, "Aggregator", aggregator=fns.aggregator, table=self.store.table)
        self.forwarding = (
            Forwarding(
                self,
                "Forwarding",
                publisher=fns.publisher,
                table=self.store.table,
                archive_days=config.forwarding.archive_days,
            )
            if fns.publisher is not None
            else None
        )
        # Webhooks in through the intake's function URL; reads out through the REST API.
        self.webhooks = WebhookUrl(self, "Webhooks", intake=fns.intake)
        self.api = HubApi(
            self, "HubApi", create_account_role=create_account_role, tracing=config.observability.tracing
        )
        QueryApi(self, "QueryApi", api=self.api, query=fns.query_target)
        self.queues = {
            "Spill": self.pollers.spill_queue,
            "PollerDlq": self.pollers.dead_letter_queue,
            "CopierDlq": self.copier.failures,
            "AggregatorDlq": self.aggregator.failures,
            **({"PublisherDlq": self.forwarding.failures} if self.forwarding else {}),
        }
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=fns.all,
            queues=self.queues,
            intake=fns.intake,
            copier=fns.copier,
            aggregator=fns.aggregator,
            publisher=fns.publisher,
        )
        self._outputs()

    def _outputs(self) -> None:
        fns = self.functions
        CfnOutput(
            self,
            "ApiUrl",
            value=self.api.url,
            description="Base URL of the query API (REST): /api/v1/events, /docs, /console",
        )
        CfnOutput(
            self,
            "WebhookBaseUrl",
            value=self.webhooks.base_url,
            description="A connection's webhook URL is this (the intake's function URL, webhooks/) "
            "followed by its id: paste it into the provider's console",
        )
        CfnOutput(self, "TableName", value=self.store.table.table_name)
        # What `eventhub config apply`, `keys` and `connections` work on.
        CfnOutput(self, "RegistryTableName", value=self.registry.table.table_name)
        CfnOutput(self, "ScheduleGroupName", value=self.pollers.group.schedule_group_name)
        CfnOutput(self, "SchedulerRoleArn", value=self.pollers.role.role_arn)
        CfnOutput(self, "PollerFunctionArn", value=fns.poller.function_arn)
        CfnOutput(self, "PollerDlqArn", value=self.pollers.dead_letter_queue.queue_arn)
        CfnOutput(self, "SecretPrefix", value=c.SECRET_PREFIX)
        CfnOutput(self, "BucketName", value=self.store.bucket.bucket_name)
        for name, queue in self.queues.items():
            CfnOutput(self, f"{name}QueueUrl", value=queue.queue_url)
        for name, function in (
            ("Poller", fns.poller),
            ("Copier", fns.copier),
            ("Aggregator", fns.aggregator),
        ):
            CfnOutput(self, f"{name}FunctionName", value=function.function_name)
        if self.forwarding is not None and fns.publisher is not None:
            CfnOutput(self, "PublisherFunctionName", value=fns.publisher.function_name)
            CfnOutput(self, "EventBusName", value=self.forwarding.bus.event_bus_name)
            CfnOutput(self, "EventBusArn", value=self.forwarding.bus.event_bus_arn)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
