"""The stored item: the canonical event as a DynamoDB item, and back.

Conversion is explicit and by hand (no TypeSerializer): items hold strings, numbers, one
list of artifact maps, and the payload as JSON text (so any JSON, however deep, fits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from functions import table_schema as schema

if TYPE_CHECKING:
    from functions.models.event import Artifact, CanonicalEvent

EVENT_KIND = "event"
ARTIFACTS_ATTRIBUTE = "artifacts"
PENDING_ARTIFACTS_ATTRIBUTE = "pendingArtifacts"
# The artifacts' source URLs with their credentials, {"<index>": url}, for the copier alone: not a
# field of the canonical event (``from_item`` never reads it), so nothing that serves an event can
# carry it; in no index's projection (``table_schema``). Each URL is removed by the update that
# records its artifact's final outcome (``Artifact.keeps_source``).
ARTIFACT_SOURCES_ATTRIBUTE = "artifactSources"

# Lambda event filters over the table's stream, for the stack's event source mappings and the
# local stream dispatcher alike. Stream records carry DynamoDB numbers as strings ({"N": "1"}),
# which Lambda's "numeric" matching does not compare, so "pendingArtifacts > 0" is written as
# "present and not '0'" (the count is always written as a plain integer).
COPIER_STREAM_FILTER: dict[str, Any] = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"NewImage": {PENDING_ARTIFACTS_ATTRIBUTE: {"N": [{"anything-but": ["0"]}]}}},
}
# The publisher: each new event, and the modify that ends an event's copies (pending back to 0).
PUBLISHER_STREAM_FILTERS: tuple[dict[str, Any], ...] = (
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {schema.KIND_ATTRIBUTE: {"S": [EVENT_KIND]}}}},
    {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {
                schema.KIND_ATTRIBUTE: {"S": [EVENT_KIND]},
                PENDING_ARTIFACTS_ATTRIBUTE: {"N": ["0"]},
            }
        },
    },
)
AGGREGATOR_STREAM_FILTER: dict[str, Any] = {
    "eventName": ["INSERT"],
    "dynamodb": {"NewImage": {schema.KIND_ATTRIBUTE: {"S": [EVENT_KIND]}}},
}

# canonical field name -> item attribute name (they match; the map makes the contract visible)
_SCALARS = (
    "tenantId", "source", "sourceEventId", "eventType", "occurredAt", "receivedAt", "resourceType",
    "resourceId", "correlationId", "causationId", "actorType", "actorId", "channel",
)  # fmt: skip
_ARTIFACT_STRINGS = ("name", "sourceUrl", "status", "reason", "s3Key", "sha256", "contentType", "copiedAt")


def day_of(occurred_at: str) -> str:
    return occurred_at[:10]


def sort_value(event_id: str, occurred_at: str) -> str:
    return f"{occurred_at}#{event_id}"


def time_shard(event_id: str) -> int:
    """The event's shard of its tenant's day in the time index: from its id alone, so every
    write of the same event lands in the same partition."""
    digest = hashlib.sha256(event_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % schema.TIME_SHARDS


def day_partition(tenant_id: str, day: str, shard: int) -> str:
    """The time index's partition key of one shard of a tenant's day. Shard 0 keeps the key every
    entry had before the index was sharded, "{tenant}#{day}", so those entries are read with it."""
    return f"{tenant_id}#{day}" if shard == 0 else f"{tenant_id}#{day}#{shard}"


def day_partitions(tenant_id: str, day: str) -> list[str]:
    """Every partition of a tenant's day in the time index, shard 0 first."""
    return [day_partition(tenant_id, day, shard) for shard in range(schema.TIME_SHARDS)]


def artifact_to_attr(artifact: Artifact) -> dict[str, Any]:
    data = artifact.model_dump(by_alias=True, exclude_none=True, mode="json")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            out[key] = {"BOOL": value}
        elif isinstance(value, int):
            out[key] = {"N": str(value)}
        else:
            out[key] = {"S": str(value)}
    return {"M": out}


def artifact_from_attr(attr: dict[str, Any]) -> Artifact:
    from functions.models.event import Artifact  # here: the stream consumers' filters need no pydantic

    data: dict[str, Any] = {}
    for key, value in attr["M"].items():
        if "S" in value:
            data[key] = value["S"]
        elif "N" in value:
            data[key] = int(value["N"])
        elif "BOOL" in value:
            data[key] = value["BOOL"]
    return Artifact.model_validate(data)


def artifact_attributes(artifacts: list[Artifact]) -> dict[str, Any]:
    """The artifacts and their pending count: the copier's stream filter selects pendingArtifacts > 0."""
    return {
        ARTIFACTS_ATTRIBUTE: {"L": [artifact_to_attr(a) for a in artifacts]},
        PENDING_ARTIFACTS_ATTRIBUTE: {"N": str(sum(a.status == "pending" for a in artifacts))},
    }


def source_urls_attribute(urls: Mapping[int, str]) -> dict[str, Any]:
    return {"M": {str(index): {"S": url} for index, url in sorted(urls.items())}}


def source_urls_of(item: Mapping[str, Any]) -> dict[int, str]:
    """The credentialed URLs an item still keeps, by artifact index."""
    kept = item.get(ARTIFACT_SOURCES_ATTRIBUTE, {}).get("M", {})
    return {int(index): value["S"] for index, value in kept.items() if index.isdigit() and "S" in value}


def to_item(
    event: CanonicalEvent,
    *,
    payload_text: str | None,
    payload_ref: str | None,
    expires_at: int | None = None,
    source_urls: Sequence[str] = (),
) -> dict[str, Any]:
    """The event's item. ``source_urls``: its artifacts' credentialed URLs, in artifact order."""
    data = event.model_dump(by_alias=True, mode="json", exclude={"payload", "artifacts"})  # serialized apart
    tenant = event.tenant_id
    item: dict[str, Any] = {
        schema.PARTITION_KEY: {"S": event.id},
        schema.KIND_ATTRIBUTE: {"S": EVENT_KIND},
        schema.SORT_ATTRIBUTE: {"S": sort_value(event.id, event.occurred_at)},
        schema.TIME_INDEX.partition_key: {
            "S": day_partition(tenant, day_of(event.occurred_at), time_shard(event.id))
        },
        schema.TYPE_INDEX.partition_key: {"S": f"{tenant}#{event.event_type}"},
    }
    for name in _SCALARS:
        if data.get(name) is not None:
            item[name] = {"S": str(data[name])}
    if event.correlation_id:
        item[schema.CORRELATION_INDEX.partition_key] = {"S": f"{tenant}#{event.correlation_id}"}
    if event.resource_type and event.resource_id:
        item[schema.RESOURCE_INDEX.partition_key] = {
            "S": f"{tenant}#{event.resource_type}#{event.resource_id}"
        }
    if payload_ref is not None:
        item["payloadRef"] = {"S": payload_ref}
    else:
        item["payload"] = {"S": payload_text if payload_text is not None else "{}"}
    if event.artifacts:
        item.update(artifact_attributes(event.artifacts))
        kept = dict(enumerate(source_urls[: len(event.artifacts)]))
        if kept:
            item[ARTIFACT_SOURCES_ATTRIBUTE] = source_urls_attribute(kept)
    if expires_at:
        item[schema.TTL_ATTRIBUTE] = {"N": str(expires_at)}
    return item


def from_item(item: dict[str, Any], load_payload: Callable[[dict[str, Any]], Any]) -> CanonicalEvent:
    from functions.models.event import CanonicalEvent

    data: dict[str, Any] = {"id": item[schema.PARTITION_KEY]["S"]}
    for name in _SCALARS:
        if name in item:
            data[name] = item[name]["S"]
    data["payload"] = load_payload(item)
    data["artifacts"] = [artifact_from_attr(a) for a in item.get("artifacts", {}).get("L", [])]
    return CanonicalEvent.model_validate(data)


def is_event_item(item: dict[str, Any]) -> bool:
    return item.get(schema.KIND_ATTRIBUTE, {}).get("S") == EVENT_KIND
