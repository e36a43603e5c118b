"""The event store's table: keys, indexes, stream and TTL, defined once.

Both the CDK stack (``infra/``) and the local runtime (``eventhub.local``) build the table from
these definitions, so the two can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PARTITION_KEY = "id"
SORT_ATTRIBUTE = "ts"  # "{occurredAt}#{id}": the sort key of every index
TTL_ATTRIBUTE = "expiresAt"
KIND_ATTRIBUTE = "kind"

# Attributes each index carries besides its keys: just what list filters need. Full items are
# fetched with BatchGetItem, so a payload is written once, not once per index. The time index
# also carries ``source``: the one index a ``source`` list walks (and its sub-minute edges count).
_FILTER_ATTRIBUTES = ("tenantId", "eventType", "resourceType", "resourceId", "occurredAt")


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str = SORT_ATTRIBUTE
    non_key_attributes: tuple[str, ...] = field(default=_FILTER_ATTRIBUTES)


CORRELATION_INDEX = Index("byCorrelation", "correlationKey")  # "{tenantId}#{correlationId}"
RESOURCE_INDEX = Index("byResource", "resourceKey")  # "{tenantId}#{resourceType}#{resourceId}"
# "{tenant}#{day}" for shard 0, "{tenant}#{day}#{shard}" for the others (models/items.py)
TIME_INDEX = Index("byTime", "dayKey", non_key_attributes=(*_FILTER_ATTRIBUTES, "source"))
# A tenant's day is this many partitions of the time index, an event's shard fixed by its id. A
# partition takes about 1,000 writes per second, so a tenant's day takes about 8,000 before the
# index throttles; reads of a day query every shard and merge them (adapters/shard_merge.py).
# Fixed for the life of a table: a changed number would leave stored entries where no read looks.
TIME_SHARDS = 8
TYPE_INDEX = Index("byType", "typeKey")  # "{tenantId}#{eventType}"

# Actor counter items only (no event has its key): ``["{tenant}","{level}","{bucket}"]`` as the
# partition, ``["{actorType}","{actorId}"]`` as the sort key, the actor's three counts projected.
# ``/stats/by-actor`` reads a bucket's actors as one Query, so a bucket holds any number of them.
ACTOR_INDEX = Index("byActorBucket", "actorBucket", non_key_attributes=("n", "s", "f"))

INDEXES: tuple[Index, ...] = (CORRELATION_INDEX, RESOURCE_INDEX, TIME_INDEX, TYPE_INDEX, ACTOR_INDEX)


def attribute_definitions() -> list[dict[str, str]]:
    names = [PARTITION_KEY, SORT_ATTRIBUTE, *(index.partition_key for index in INDEXES)]
    return [{"AttributeName": name, "AttributeType": "S"} for name in dict.fromkeys(names)]


def create_table_params(table_name: str) -> dict[str, Any]:
    """Arguments for boto3 ``create_table`` (the local runtime and tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attribute_definitions(),
        "KeySchema": [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": list(index.non_key_attributes),
                },
            }
            for index in INDEXES
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    }


# -- the registry: connections and API keys, read by key at run time ----------------------------

REGISTRY_PARTITION_KEY = "pk"  # "connection#{id}" or "apikey#{sha256 of the key}"


def create_registry_table_params(table_name: str) -> dict[str, Any]:
    """Arguments for boto3 ``create_table`` of the registry (the local runtime and tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": REGISTRY_PARTITION_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": REGISTRY_PARTITION_KEY, "KeyType": "HASH"}],
    }
