"""Poll tests: provider fakes on 127.0.0.1, moto for the store and the spill queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from eventhub.demo import ExaFake, KlaviFake, VaiFake
from eventhub.demo.klavi import DEFAULT_ARTIFACT_BASE
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from functions.adapters.http_client import HttpClient, RetryPolicy
from functions.adapters.secrets import SecretResolver
from functions.adapters.spill import SpillQueue
from functions.logic.polling import PollServices, RunBudget, run_poll
from functions.models.config import HubConfig
from tests.conftest import sensitive

KLAVI_KEY = "klavi-test-secret-key-1"
VAI_KEY = "vai-test-api-key-1"
EXA_KEY = "exa-test-api-key-1"
TENANT = "acme"


class Sleeps:
    """A sleep that records the wait and returns at once: retries without real waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(autouse=True)
def _keys_are_secret() -> None:
    sensitive(KLAVI_KEY, VAI_KEY, EXA_KEY)


@pytest.fixture
def klavi() -> Iterator[KlaviFake]:
    with KlaviFake(KLAVI_KEY, artifact_base=DEFAULT_ARTIFACT_BASE) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def vai() -> Iterator[VaiFake]:
    with VaiFake(VAI_KEY) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def exa() -> Iterator[ExaFake]:
    with ExaFake(EXA_KEY) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_http(sleeps: Sleeps, *, read_timeout: float = 2.0, attempts: int = 4) -> HttpClient:
    policy = RetryPolicy(attempts=attempts, backoff_base=0.5, backoff_cap=8.0, retry_after_cap=30.0)
    return HttpClient(connect_timeout=1.0, read_timeout=read_timeout, retry=policy, sleep=sleeps)


@pytest.fixture
def http(sleeps: Sleeps) -> HttpClient:
    return make_http(sleeps)


@pytest.fixture
def spill(aws: dict[str, Any]) -> SpillQueue:
    return SpillQueue(aws["spill_queue_url"], aws["sqs"], BlobStore(aws["bucket"], aws["s3"]))


@pytest.fixture
def services(store: EventStore, http: HttpClient, spill: SpillQueue, sleeps: Sleeps) -> PollServices:
    return PollServices(store=store, http=http, secrets=SecretResolver(), spill=spill, sleep=sleeps)


def poll_config(
    *, klavi: KlaviFake | None = None, vai: VaiFake | None = None, exa: ExaFake | None = None, **poll: Any
) -> HubConfig:
    """A config with one poll connection per given fake: klavi-pull, vai-pull, exa-pull."""
    connections = []
    if klavi is not None:
        connections.append(
            {"id": "klavi-pull", "provider": "klavi", "tenantId": TENANT,
             "poll": {"baseUrl": klavi.url, "secretKey": klavi.secret_key, **poll}}
        )  # fmt: skip
    if vai is not None:
        connections.append(
            {"id": "vai-pull", "provider": "vai", "tenantId": TENANT,
             "poll": {"baseUrl": vai.url, "apiKey": vai.api_key, **poll}}
        )  # fmt: skip
    if exa is not None:
        connections.append(
            {"id": "exa-pull", "provider": "exa", "tenantId": TENANT, "secrets": ["exa-webhook-secret-1"],
             "poll": {"baseUrl": exa.url, "apiKey": exa.api_key, **poll}}
        )  # fmt: skip
    return HubConfig.model_validate({"connections": connections})


def run(connection_id: str, config: HubConfig, services: PollServices, **kwargs: Any) -> Any:
    kwargs.setdefault("budget", RunBudget.for_seconds(300))
    return run_poll(connection_id, config=config, services=services, **kwargs)


def stored_source_ids(aws: dict[str, Any], source: str) -> list[str]:
    """Every stored event's provider id (a scan: tests only), duplicates kept."""
    found = []
    for page in aws["dynamodb"].get_paginator("scan").paginate(TableName=aws["table"]):
        for item in page["Items"]:
            if item.get("kind", {}).get("S") == "event" and item["source"]["S"] == source:
                found.append(item["sourceEventId"]["S"])
    return found


def hours_ago(hours: float) -> datetime:
    from datetime import timedelta

    return datetime.now(UTC) - timedelta(hours=hours)
