"""Intake overhead: signed webhooks per second through the local gateway (HTTP, proxy event,
signature check, mapping, conditional put) into moto server, next to a bare loop making the
same writes into the same server, in one run: ``put_item`` of the same items with the same
condition, plus, for the one provider in four whose events carry a presigned URL (Klavi),
the S3 put of that URL that the event store keeps out of the item. Target: ratio >= 0.67, i.e. our
verification, mapping and routing cost at most half of the write itself.

moto server runs in its own process (as DynamoDB is not in the function's process); the
gateway, the handler and the baseline loop share this one. Both sides are sequential (one
request at a time), interleaved in chunks so that both see the same machine, and both use
the handler's own DynamoDB client settings.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Metric, moto_server

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "local.json"
TARGET = 0.67
BASELINE_TABLE = "eventhub-bench-baseline"

# connection id -> (provider, sample, where the sample's event id is)
SOURCES = [
    ("extend-dev", "extend", "extend/classify_run.processed.json", "eventId"),
    ("exa-dev", "exa", "exa/webset.created.json", "id"),
    ("klavi-push", "klavi", "klavi/analysis_finished.json", "eventId"),
    ("svix-dev", "standard-webhooks", "standard-webhooks/invoice.paid.json", None),
]


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The handlers still format every log line and metric; the terminal does not render them."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def webhooks(count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """``count`` distinct signed deliveries across the push providers, signed now."""
    from eventhub.local.send import secret_for
    from eventhub.local.signing import sign
    from functions.models.config import load_config

    config = load_config(CONFIG)
    out = []
    for index in range(count):
        connection, provider, sample, id_field = SOURCES[index % len(SOURCES)]
        document = json.loads((ROOT / "events" / "webhooks" / sample).read_text())
        tag = f"bench-{uuid.uuid4().hex}"
        if id_field:
            document[id_field] = tag
        body = json.dumps(document).encode()
        _, secret = secret_for(config, connection)
        out.append((connection, body, sign(provider, secret, body, message_id=f"msg_{tag}")))
    return out


Writes = tuple[dict[str, Any], list[tuple[str, bytes]]]


def writes_for(deliveries: list[tuple[str, bytes, dict[str, str]]]) -> list[Writes]:
    """What the intake writes for these deliveries: the item, and the S3 object holding each
    artifact URL's credentials (Klavi's presignedUrl), which are kept out of the item."""
    from functions.jsonutil import dumps
    from functions.models.blob_keys import artifact_source_key
    from functions.models.config import load_config
    from functions.models.items import to_item
    from functions.providers import WEBHOOK_SCHEMES
    from functions.providers.base import Delivery

    config = load_config(CONFIG)
    items = []
    for connection_id, body, headers in deliveries:
        connection = config.connection(connection_id)
        assert connection is not None
        delivery = Delivery(
            headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=datetime.now(UTC)
        )
        new = WEBHOOK_SCHEMES[connection.provider].map(json.loads(body), delivery, connection)
        item = to_item(new.event, payload_text=dumps(new.event.payload), payload_ref=None)
        objects = [
            (artifact_source_key(new.event.id, i), url.encode()) for i, url in enumerate(new.artifact_urls)
        ]
        items.append((item, objects))
    return items


def through_gateway(port: int, deliveries: list[tuple[str, bytes, dict[str, str]]]) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    for connection_id, body, headers in deliveries:
        connection.request("POST", f"/webhooks/{connection_id}", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or json.loads(answer)["duplicate"]:
            raise RuntimeError(f"intake answered {response.status}: {answer[:300]!r}")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def bare_writes(dynamodb: Any, s3: Any, bucket: str, writes: list[Writes]) -> float:
    started = time.perf_counter()
    for item, objects in writes:
        for key, data in objects:
            s3.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType="text/plain", ServerSideEncryption="AES256"
            )
        dynamodb.put_item(
            TableName=BASELINE_TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": "id"},
        )
    return time.perf_counter() - started


def run(quick: bool) -> list[Metric]:
    from eventhub.local.resources import ResourceNames, create_table
    from eventhub.local.stack import LocalStack

    count, chunks = (120, 3) if quick else (1200, 6)
    names = ResourceNames(
        table="eventhub-bench-events", bucket="eventhub-bench-data", spill_queue="bench-spill"
    )
    with (
        moto_server() as endpoint,
        LocalStack(CONFIG, services=[], aws_endpoint_url=endpoint, names=names) as stack,
    ):
        from functions.adapters import factory

        create_table(stack.client("dynamodb"), BASELINE_TABLE)
        # The handler's own clients: same settings, same connection pools.
        dynamodb, s3 = factory.client("dynamodb"), factory.client("s3")
        bucket = stack.resources["bucket"]
        warm = webhooks(20)
        with quiet_stdout():
            through_gateway(stack.port, warm)
            bare_writes(dynamodb, s3, bucket, writes_for(webhooks(20)))

            ours = base = ours_cpu = base_cpu = 0.0
            size = count // chunks
            for _ in range(chunks):  # signed per chunk: the replay window is 5 minutes
                deliveries = webhooks(size)
                writes = writes_for(webhooks(size))
                started = time.process_time()
                ours += through_gateway(stack.port, deliveries)
                middle = time.process_time()
                base += bare_writes(dynamodb, s3, bucket, writes)
                ours_cpu += middle - started
                base_cpu += time.process_time() - middle

        pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=names.table, Select="COUNT")
        stored = sum(page["Count"] for page in pages)
        if stored != count + len(warm):
            raise RuntimeError(f"{stored} events stored, expected {count + len(warm)}")
    ours_rate = size * chunks / ours
    base_rate = size * chunks / base
    ratio = ours_rate / base_rate
    return [
        Metric(
            name="intake.webhooks_per_second",
            ours=round(ours_rate, 1),
            unit="1/s",
            baseline=round(base_rate, 1),
            target=f">= {TARGET}",
            met=ratio >= TARGET,
        ),
        # CPU of this process (client, gateway, handler, botocore; not moto) per webhook and per write.
        Metric(
            name="intake.cpu_ms_per_webhook",
            ours=round(ours_cpu * 1000 / (size * chunks), 2),
            unit="ms cpu",
            baseline=round(base_cpu * 1000 / (size * chunks), 2),
            higher_is_better=False,
        ),
        Metric(
            name="intake.ms_per_webhook", ours=round(1000 / ours_rate, 2), unit="ms", higher_is_better=False
        ),
        Metric(
            name="intake.ms_per_bare_write",
            ours=round(1000 / base_rate, 2),
            unit="ms",
            higher_is_better=False,
        ),
    ]


if __name__ == "__main__":
    for metric in run("--quick" in sys.argv):
        print(metric.as_dict())
