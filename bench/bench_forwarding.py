"""Forwarding: entries per second through the publisher's ``publish()`` with the real
``EventBridgeBus`` into moto server's EventBridge, next to a bare loop of ``put_events`` calls of
10 entries each (the same entries, the same bus, the same client), in alternating rounds so both
see the same machine. Target: ratio >= 0.8, i.e. building the requests, reading each entry's
outcome and the retry bookkeeping cost at most a quarter of the calls themselves.

And what forwarding bills: EventBridge charges $1.00 per million entries, each 64 KB chunk of an
entry counting as one. The sample mix is the bench's webhooks (Extend, Exa, Klavi, Standard
Webhooks, one in four each) mapped as intake maps them; every stored event gives one entry, and
each of its result files one ``eventhub.artifact`` entry when its copy ends.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.bench_intake import ROOT, webhooks
from bench.common import Metric, moto_server

TARGET = 0.8
BUS = "eventhub-bench-forwarding"
PRICE_PER_MILLION = 1.00


def sample_events(count: int) -> list[Any]:
    """``count`` canonical events of the sample mix (with their artifacts), as intake maps them."""
    from functions import jsonutil
    from functions.models.config import load_config
    from functions.providers import WEBHOOK_SCHEMES
    from functions.providers.base import Delivery

    config = load_config(ROOT / "config" / "local.json")
    received = datetime.now(UTC)
    events = []
    for connection_id, body, headers in webhooks(count):
        connection = config.connection(connection_id)
        assert connection is not None
        lowered = {k.lower(): v for k, v in headers.items()}
        delivery = Delivery(headers=lowered, body=body, received_at=received)
        events.append(
            WEBHOOK_SCHEMES[connection.provider].map(jsonutil.loads(body), delivery, connection).event
        )
    return events


def copied(event: Any) -> Any:
    """The event once its result files are copied (what the copier's last modify carries)."""
    from functions.models.event import ArtifactStatus

    artifacts = [
        a.model_copy(
            update={
                "status": ArtifactStatus.COPIED,
                "s3_key": f"artifacts/{event.id}/{n}",
                "size": 48_213,
                "sha256": "0" * 64,
            }
        )  # fmt: skip
        for n, a in enumerate(event.artifacts)
    ]
    return event.model_copy(update={"artifacts": artifacts})


def billed_per_million(events: list[Any]) -> tuple[float, float]:
    """(entries, billed events) per million stored events of ``events``' mix."""
    from functions.logic.publishing.entries import artifact_entries, event_entry

    entries = [event_entry(str(n), e) for n, e in enumerate(events)]
    entries += [a for n, e in enumerate(events) for a in artifact_entries(str(n), copied(e), "bucket")]
    scale = 1_000_000 / len(events)
    return len(entries) * scale, sum(e.billed_events for e in entries) * scale


def bare_loop(client: Any, requests: list[list[dict[str, Any]]]) -> float:
    started = time.perf_counter()
    for batch in requests:
        response = client.put_events(Entries=batch)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"moto refused {response['FailedEntryCount']} entries")
    return time.perf_counter() - started


def through_publish(bus: Any, entries: list[Any]) -> float:
    from functions.logic.publishing.publish import PublishPolicy, publish

    started = time.perf_counter()
    report = publish(entries, bus, PublishPolicy())
    elapsed = time.perf_counter() - started
    if report.failed_sequence is not None or report.put != len(entries):
        raise RuntimeError(f"publish put {report.put} of {len(entries)} entries")
    return elapsed


def run(quick: bool) -> list[Metric]:
    import boto3

    from functions.adapters.event_bus import EventBridgeBus
    from functions.logic.publishing.entries import event_entry
    from functions.models.publishing import MAX_ENTRIES_PER_CALL
    from functions.observability import logger

    logger.setLevel("ERROR")
    count, rounds = (400, 3) if quick else (4000, 8)
    events = sample_events(count)
    entries = [event_entry(f"{n:08d}", e) for n, e in enumerate(events)]
    with moto_server() as endpoint:
        client = boto3.session.Session().client(
            "events", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 - moto's
        )  # fmt: skip
        client.create_event_bus(Name=BUS)
        bus = EventBridgeBus(BUS, client)
        requests = [
            [{"EventBusName": BUS, "Source": e.source, "DetailType": e.detail_type, "Detail": e.detail}
             for e in entries[start : start + MAX_ENTRIES_PER_CALL]]
            for start in range(0, len(entries), MAX_ENTRIES_PER_CALL)
        ]  # fmt: skip
        through_publish(bus, entries[:100])  # warm both paths: connection pool, moto's first calls
        bare_loop(client, requests[:10])
        size = len(entries) // rounds
        ours = base = 0.0
        for number in range(rounds):
            chunk = slice(number * size, (number + 1) * size)
            batches = slice(
                number * size // MAX_ENTRIES_PER_CALL, (number + 1) * size // MAX_ENTRIES_PER_CALL
            )
            if number % 2:  # alternate which side goes first
                base += bare_loop(client, requests[batches])
                ours += through_publish(bus, entries[chunk])
            else:
                ours += through_publish(bus, entries[chunk])
                base += bare_loop(client, requests[batches])
    ours_rate, base_rate = size * rounds / ours, size * rounds / base
    per_million, billed = billed_per_million(sample_events(400))
    return [
        Metric(
            name="forwarding.entries_per_second",
            ours=round(ours_rate, 1),
            unit="1/s",
            baseline=round(base_rate, 1),
            target=f">= {TARGET}",
            met=ours_rate / base_rate >= TARGET,
        ),
        Metric(name="forwarding.entries_per_million_events", ours=round(per_million), unit="entries"),
        Metric(name="forwarding.billed_events_per_million_events", ours=round(billed), unit="events"),
        Metric(
            name="forwarding.usd_per_million_events",
            ours=round(billed / 1_000_000 * PRICE_PER_MILLION, 2),
            unit="USD",
            higher_is_better=False,
        ),
    ]


if __name__ == "__main__":
    for metric in run("--quick" in sys.argv):
        print(metric.as_dict())
