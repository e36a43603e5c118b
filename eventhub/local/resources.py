"""Create the stack's data resources in moto (or any AWS endpoint) from the shared definitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions import table_schema


@dataclass(frozen=True)
class ResourceNames:
    table: str = "eventhub-events"
    bucket: str = "eventhub-local-data"
    spill_queue: str = "eventhub-spill"


def create_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(**table_schema.create_table_params(name))
    dynamodb.get_waiter("table_exists").wait(TableName=name)


def create_bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)


def create_all(clients: dict[str, Any], names: ResourceNames) -> dict[str, str]:
    """Create table, bucket and spill queue; returns their runtime identifiers."""
    create_table(clients["dynamodb"], names.table)
    create_bucket(clients["s3"], names.bucket)
    queue_url = clients["sqs"].create_queue(QueueName=names.spill_queue)["QueueUrl"]
    return {"table": names.table, "bucket": names.bucket, "spill_queue_url": queue_url}
