"""Polling: a VAI sync from the local fake into moto server, next to merely fetching the same
pages with the same HTTP client; and a Klavi drain (events/s, stored == served).

Rows:
- ``polling.vai_sync`` [events/s]: a first sync (every event new) vs fetching the same pages
  (HTTP + JSON decode, no mapping, no store). Target: ratio >= 0.5.
- ``polling.vai_resync`` [events/s]: the same window synced again (every event a duplicate,
  found by one BatchGetItem per page) vs the same fetch.
- ``polling.vai_sync_vs_bare_put`` [events/s]: the first sync vs a plain loop of conditional
  ``put_item`` calls of the same items into the same server (the write alone, no HTTP fetch;
  measured on the first 2,000 items, ``--quick`` 500).
- ``polling.klavi_drain`` [events/s] and ``polling.klavi_stored`` [events] (== served).

Sizes: 20,000 VAI events and 2,000 Klavi events (``--quick``: 2,000 and 200).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Metric, median_of

VAI_EVENTS = {True: 2_000, False: 20_000}
BARE_PUTS = {True: 500, False: 2_000}  # the write rate is flat: a sample of the same items is enough
KLAVI_EVENTS = {True: 200, False: 2_000}
FETCH_ROUNDS = 3


class _Quiet:
    """Powertools' logger at WARNING and its metrics off while the benchmark runs."""

    def __enter__(self) -> None:
        import os

        from functions.observability import logger

        self._level = logger.log_level
        self._metrics = os.environ.get("POWERTOOLS_METRICS_DISABLED")
        logger.setLevel("WARNING")
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

    def __exit__(self, *exc: object) -> None:
        import os

        from functions.observability import logger

        logger.setLevel(self._level)
        if self._metrics is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = self._metrics


def _moto() -> tuple[Any, dict[str, Any], dict[str, str]]:
    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    from eventhub.local.resources import ResourceNames, create_all

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # The same client settings the functions use (functions/adapters/factory.py).
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
    clients = {
        name: boto3.client(
            name, endpoint_url=f"http://{host}:{port}", region_name="us-east-1", config=config,
            aws_access_key_id="bench", aws_secret_access_key="bench",  # noqa: S106 - moto
        )
        for name in ("dynamodb", "s3", "sqs")
    }  # fmt: skip
    return server, clients, create_all(clients, ResourceNames())


def _services(clients: dict[str, Any], ids: dict[str, str], table: str | None = None) -> Any:
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_store import EventStore
    from functions.adapters.http_client import HttpClient
    from functions.adapters.secrets import SecretResolver
    from functions.adapters.spill import SpillQueue
    from functions.logic.polling import PollServices

    blobs = BlobStore(ids["bucket"], clients["s3"])
    return PollServices(
        store=EventStore(table or ids["table"], clients["dynamodb"], blobs),
        http=HttpClient(),
        secrets=SecretResolver(),
        spill=SpillQueue(ids["spill_queue_url"], clients["sqs"], blobs),
    )


def _fetch_all(services: Any, url: str, key: str, start: datetime, end: datetime) -> int:
    """The baseline: every page of the window with the same client, decoded, nothing more."""
    from functions.models.event import format_timestamp

    offset, seen = 0, 0
    while True:
        params = {
            "from": format_timestamp(start),
            "to": format_timestamp(end),
            "limit": 100,
            "offset": offset,
        }
        body = services.http.get(url, params=params, headers={"X-API-Key": key}).json()
        seen += len(body["events"])
        offset += len(body["events"])
        if not body["hasNext"]:
            return seen


def _bare_puts(clients: dict[str, Any], table: str, items: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for item in items:
        clients["dynamodb"].put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": "id"},
        )  # fmt: skip
    return time.perf_counter() - started


def _vai(quick: bool, clients: dict[str, Any], ids: dict[str, str]) -> list[Metric]:
    from eventhub.demo import VaiFake
    from eventhub.local.resources import create_table
    from functions import jsonutil
    from functions.logic.polling import RunBudget, backfill, run_poll
    from functions.models.config import HubConfig
    from functions.models.event import format_timestamp
    from functions.models.items import to_item
    from functions.providers import vai as vai_provider

    count = VAI_EVENTS[quick]
    run_start = datetime.now(UTC).replace(microsecond=0)
    start = run_start - timedelta(minutes=55)
    with VaiFake("bench-vai-key") as fake:
        assert isinstance(fake, VaiFake)
        fake.add_events(count, start=start + timedelta(minutes=1), end=run_start - timedelta(seconds=1))
        config = HubConfig.model_validate(
            {"connections": [{"id": "vai-bench", "provider": "vai", "tenantId": "bench",
                              "poll": {"baseUrl": fake.url, "apiKey": "bench-vai-key",
                                       "since": format_timestamp(start)}}]}
        )  # fmt: skip
        services = _services(clients, ids)
        url = f"{fake.url}/api/v1/events"
        fetch_seconds = []
        for _ in range(FETCH_ROUNDS):
            began = time.perf_counter()
            assert _fetch_all(services, url, "bench-vai-key", start, run_start) == count
            fetch_seconds.append(time.perf_counter() - began)
        fetch = median_of(fetch_seconds)
        began = time.perf_counter()
        first = run_poll("vai-bench", config=config, services=services, budget=RunBudget.for_seconds(3600),
                         now=run_start)  # fmt: skip
        sync = time.perf_counter() - began
        assert first.new == count, first
        began = time.perf_counter()
        again = backfill("vai-bench", start=start, end=run_start, config=config, services=services,
                         budget=RunBudget.for_seconds(3600))  # fmt: skip
        resync = time.perf_counter() - began
        assert again.duplicates == count, again
        connection = config.connections[0]
        received = datetime.now(UTC)
        sample = []
        for raw in fake.events[: BARE_PUTS[quick]]:
            event = vai_provider.map_event(raw, connection, received).event
            sample.append(to_item(event, payload_text=jsonutil.dumps(event.payload), payload_ref=None))
    create_table(clients["dynamodb"], "bench-bare-puts")
    bare_rate = len(sample) / _bare_puts(clients, "bench-bare-puts", sample)
    return [
        Metric(
            "polling.vai_sync", count / sync, "events/s", count / fetch, ">= 0.5", met=fetch / sync >= 0.5
        ),
        Metric(
            "polling.vai_resync",
            count / resync,
            "events/s",
            count / fetch,
            ">= 0.5",
            met=fetch / resync >= 0.5,
        ),
        Metric("polling.vai_sync_vs_bare_put", count / sync, "events/s", bare_rate),
    ]


def _klavi(quick: bool, clients: dict[str, Any], ids: dict[str, str]) -> list[Metric]:
    from eventhub.demo import KlaviFake
    from eventhub.demo.klavi import DEFAULT_ARTIFACT_BASE
    from functions.logic.polling import RunBudget, run_poll
    from functions.models.config import HubConfig

    count = KLAVI_EVENTS[quick]
    with KlaviFake("bench-klavi-key", artifact_base=DEFAULT_ARTIFACT_BASE) as fake:
        assert isinstance(fake, KlaviFake)
        fake.enqueue(count)
        config = HubConfig.model_validate(
            {"connections": [{"id": "klavi-bench", "provider": "klavi", "tenantId": "bench",
                              "poll": {"baseUrl": fake.url, "secretKey": "bench-klavi-key"}}]}
        )  # fmt: skip
        services = _services(clients, ids)
        began = time.perf_counter()
        summary = run_poll(
            "klavi-bench", config=config, services=services, budget=RunBudget.for_seconds(3600)
        )
        elapsed = time.perf_counter() - began
        served = len(fake.served)
    stored = 0
    for page in clients["dynamodb"].get_paginator("scan").paginate(
        TableName=ids["table"], FilterExpression="#s = :k",
        ExpressionAttributeNames={"#s": "source"}, ExpressionAttributeValues={":k": {"S": "klavi"}},
    ):  # fmt: skip
        stored += page["Count"]
    return [
        Metric("polling.klavi_drain", summary.new / elapsed, "events/s"),
        Metric("polling.klavi_stored", stored, "events", served, "== served", met=stored == served),
    ]


def run(quick: bool) -> list[Metric]:
    server, clients, ids = _moto()
    try:
        with _Quiet():
            return _vai(quick, clients, ids) + _klavi(quick, clients, ids)
    finally:
        server.stop()


if __name__ == "__main__":
    import sys

    from bench.__main__ import print_table

    print_table(run("--quick" in sys.argv))
