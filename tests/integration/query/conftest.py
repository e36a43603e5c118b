"""Fixtures of the query API tests: stored events, the stream drained into the aggregator,
and requests through the real handler as API Gateway proxy events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.adapters.counters import CounterStore
from functions.adapters.event_store import EventStore
from functions.handlers import aggregator
from functions.models.event import CanonicalEvent, Channel, NewEvent, event_id_for, format_timestamp
from tests.conftest import LOCAL_CONFIG

ACME_KEY = "dev-key-acme-000000"
SHARD = "shardId-00000001700000000000-0000test"
GLOBEX_KEY = "dev-key-globex-00000"


def make_event(
    tenant: str = "acme",
    *,
    occurred_at: datetime | str = "2025-02-26T20:08:17.848000Z",
    event_type: str = "classify_run.processed",
    actor_type: str | None = "user",
    actor_id: str | None = "u-1",
    resource_type: str | None = "classify_run",
    resource_id: str | None = "clr_1",
    correlation_id: str | None = "flow-1",
    source_event_id: str | None = None,
    source: str = "vai",
    channel: Channel = Channel.POLL,
    received_at: datetime | str | None = None,
    payload: Any = None,
) -> CanonicalEvent:
    source_event_id = source_event_id or uuid.uuid4().hex
    stamp = occurred_at if isinstance(occurred_at, str) else format_timestamp(occurred_at)
    received = received_at if received_at is not None else stamp
    return CanonicalEvent(
        id=event_id_for(tenant, source, source_event_id),
        tenant_id=tenant,
        source=source,
        source_event_id=source_event_id,
        event_type=event_type,
        occurred_at=stamp,
        received_at=received if isinstance(received, str) else format_timestamp(received),
        actor_type=actor_type,
        actor_id=actor_id,
        resource_type=resource_type,
        resource_id=resource_id,
        correlation_id=correlation_id,
        causation_id=None,
        channel=channel,
        payload=payload if payload is not None else {"n": source_event_id},
    )


class StreamTap:
    """The table's stream as the aggregator's event source delivers it: one INSERT record (new
    image) per stored item, in write order, with increasing sequence numbers."""

    def __init__(self, aws: dict[str, Any]) -> None:
        self.ddb = aws["dynamodb"]
        self.table = aws["table"]
        self.sequence = 0
        self.pending: list[str] = []

    def inserted(self, item_id: str) -> None:
        self.pending.append(item_id)

    def record(self, item: dict[str, Any], name: str = "INSERT") -> dict[str, Any]:
        self.sequence += 1
        return {
            "eventID": uuid.uuid4().hex,
            "eventName": name,
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": {"id": item["id"]},
                "NewImage": item,
                "SequenceNumber": f"{self.sequence:021d}",
                "StreamViewType": "NEW_IMAGE",
            },
        }

    def records(self) -> list[dict[str, Any]]:
        found = []
        for item_id in self.pending:
            item = self.ddb.get_item(TableName=self.table, Key={"id": {"S": item_id}})["Item"]
            found.append(self.record(item))
        self.pending.clear()
        return found


@dataclass
class Hub:
    """The store, the stream and the query handler of one test."""

    aws: dict[str, Any]
    store: EventStore
    tap: StreamTap
    context: Any

    def put(self, *events: CanonicalEvent) -> None:
        for event in events:
            if not self.store.put(NewEvent(event=event)).duplicate:
                self.tap.inserted(event.id)

    def aggregate(self) -> list[dict[str, Any]]:
        """Deliver the new stream records to the aggregator; returns them (for replays)."""
        records = self.tap.records()
        self.deliver(records)
        return records

    def deliver(self, records: list[dict[str, Any]], shard_id: str = SHARD) -> dict[str, Any]:
        for start in range(0, len(records), 100):
            event = {"Records": records[start : start + 100], "shardId": shard_id}
            result = aggregator.handler(event, self.context)
            assert result == {"state": {}, "batchItemFailures": []}
        return {"batchItemFailures": []}

    def counters(self) -> CounterStore:
        return CounterStore(self.store)

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        key: str | None = ACME_KEY,
        headers: Any = None,
    ) -> tuple[int, Any]:
        from functions.handlers import query

        request_headers = {"Accept": "application/json"}
        if key is not None:
            request_headers["X-API-Key"] = key
        request_headers.update(headers or {})
        query_params = {k: str(v) for k, v in (params or {}).items() if v is not None}
        event = {
            "resource": "/api/{proxy+}",
            "path": path,
            "httpMethod": "GET",
            "headers": request_headers,
            "multiValueHeaders": {k: [v] for k, v in request_headers.items()},
            "queryStringParameters": query_params or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query_params.items()} or None,
            "pathParameters": {"proxy": path.removeprefix("/api/")},
            "stageVariables": None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "httpMethod": "GET",
                "path": f"/local{path}",
                "stage": "local",
                "requestId": str(uuid.uuid4()),
                "resourcePath": "/api/{proxy+}",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": None,
            "isBase64Encoded": False,
        }
        response = query.handler(event, self.context)
        headers = {**(response.get("headers") or {})}
        headers.update({k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v})
        if "json" in headers.get("Content-Type", ""):
            return response["statusCode"], json.loads(response["body"])
        return response["statusCode"], response["body"]

    def url(self, path: str, params: dict[str, Any]) -> str:
        return f"{path}?{urlencode(params)}"


@pytest.fixture(autouse=True)
def _moto_speedups() -> None:
    from eventhub.local import moto_speedups

    moto_speedups.install()


@pytest.fixture
def hub(lambda_env: dict[str, Any], lambda_context: Any) -> Iterator[Hub]:
    from functions.adapters import factory

    yield Hub(lambda_env, factory.event_store(), StreamTap(lambda_env), lambda_context)


def at(minutes: float, base: datetime = datetime(2025, 2, 26, 20, 0, tzinfo=UTC)) -> datetime:
    return base + timedelta(minutes=minutes)


EventFactory = Callable[..., CanonicalEvent]


def tenant_key(tenant: str) -> str:
    return f"key-for-{tenant}"


@pytest.fixture
def tenants(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Iterator[str]]:
    """Fresh tenants, each with its own API key (``tenant_key``): one per hypothesis example."""
    from functions.adapters import factory
    from functions.models.config import HubConfig, load_config
    from tests.conftest import use_config

    names = [f"tenant-{n:03d}" for n in range(300)]
    config = load_config(LOCAL_CONFIG).model_dump(by_alias=True, exclude_none=True, mode="json")
    config["apiKeys"] = [*config["apiKeys"], *({"key": tenant_key(t), "tenantId": t} for t in names)]
    use_config(hub.aws, HubConfig.model_validate(config), monkeypatch)
    hub.store = factory.event_store()
    yield iter(names)
