"""Create the stack's data resources in moto (or any AWS endpoint) from the shared definitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventhub.registry.schedules import ScheduleTarget
from functions import table_schema
from functions.models.config import HubConfig

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class ResourceNames:
    table: str = "eventhub-events"
    registry: str = "eventhub-registry"
    bucket: str = "eventhub-local-data"
    spill_queue: str = "eventhub-spill"
    schedule_group: str = "eventhub-local"
    poller_dlq: str = "eventhub-poller-failures"
    event_bus: str = "eventhub-local-events"


def artifact_limits(config: HubConfig | None) -> dict[str, str]:
    """The copier's limits as the functions' environment carries them."""
    found = config or HubConfig()
    return {
        "ALLOW_LOOPBACK_ARTIFACTS": "true" if found.allow_loopback_artifacts else "",
        "MAX_ARTIFACT_BYTES": str(found.max_artifact_bytes),
    }


def create_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(**table_schema.create_table_params(name))
    dynamodb.get_waiter("table_exists").wait(TableName=name)


def create_registry(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(**table_schema.create_registry_table_params(name))
    dynamodb.get_waiter("table_exists").wait(TableName=name)


def create_bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)


def schedule_target(names: ResourceNames) -> ScheduleTarget:
    """The local stand-ins for the stack's poller, Scheduler role and pollers' DLQ."""
    return ScheduleTarget(
        group=names.schedule_group,
        poller_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:eventhub-local-poller",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/eventhub-local-scheduler",
        dead_letter_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{names.poller_dlq}",
    )


def create_all(clients: dict[str, Any], names: ResourceNames) -> dict[str, str]:
    """Create tables, bucket, queues (and, given a scheduler client, the schedule group); returns
    their runtime identifiers."""
    create_table(clients["dynamodb"], names.table)
    create_registry(clients["dynamodb"], names.registry)
    create_bucket(clients["s3"], names.bucket)
    queue_url = clients["sqs"].create_queue(QueueName=names.spill_queue)["QueueUrl"]
    clients["sqs"].create_queue(QueueName=names.poller_dlq)
    if "scheduler" in clients:
        clients["scheduler"].create_schedule_group(Name=names.schedule_group)
    if "events" in clients:
        clients["events"].create_event_bus(Name=names.event_bus)
    return {
        "table": names.table,
        "registry": names.registry,
        "bucket": names.bucket,
        "spill_queue_url": queue_url,
        "schedule_group": names.schedule_group,
        "event_bus": names.event_bus,
    }
