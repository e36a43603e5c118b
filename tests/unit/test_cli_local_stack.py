"""The `eventhub` command against the real query API: the local stack started in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from eventhub import cli
from tests.conftest import LOCAL_CONFIG


def _event(n: int, tenant: str, event_type: str, minutes_ago: int) -> Any:
    from functions.models.event import CanonicalEvent, Channel, event_id_for, format_timestamp, utcnow

    at = format_timestamp(utcnow() - timedelta(minutes=minutes_ago))
    return CanonicalEvent(
        id=event_id_for(tenant, "exa", f"evt_{n}"),
        tenant_id=tenant,
        source="exa",
        source_event_id=f"evt_{n}",
        event_type=event_type,
        occurred_at=at,
        received_at=at,
        resource_type="webset",
        resource_id=f"ws_{n % 2}",
        correlation_id=f"ws_{n % 2}",
        actor_type="provider",
        actor_id="exa-dev",
        channel=Channel.WEBHOOK,
        payload={"n": n},
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from eventhub.local.stack import LocalStack
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_store import EventStore
    from functions.models.event import NewEvent

    with LocalStack(LOCAL_CONFIG) as running:
        store = EventStore(
            running.resources["table"],
            running.client("dynamodb"),
            BlobStore(running.resources["bucket"], running.client("s3")),
        )
        events = [
            _event(n, "acme", "webset.item.created" if n % 3 else "webset.created", 60 - n) for n in range(9)
        ]
        events.append(_event(99, "globex", "webset.created", 1))
        for event in events:
            store.put(NewEvent(event=event))
        running.seeded = events
        wait_until_counted(running.url, sum(e.tenant_id == "acme" for e in events))
        yield running


def wait_until_counted(url: str, expected: int, deadline_seconds: float = 30.0, query: str = "") -> None:
    """Lists and totals lean on the counters the aggregator keeps off the table's stream: wait
    (bounded) until it has counted every seeded event."""
    import time
    import urllib.request

    request = urllib.request.Request(
        f"{url}/api/v1/events/aggregate{query}", headers={"X-API-Key": "dev-key-acme-000000"}
    )
    total = None
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=10) as response:
            total = json.load(response)["total"]
        if total == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"the aggregator counted {total} of {expected} seeded events in {deadline_seconds}s")


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str


def run(stack: Any, *args: str) -> Ran:
    """The installed command in its own process (the in-process stack's functions print their
    metrics to this process's stdout, which would mix with the command's output)."""
    command = [sys.executable, "-c", "from eventhub.cli import main; main()"]
    done = subprocess.run(
        [*command, "--config", str(LOCAL_CONFIG), "--api-url", stack.url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def test_list_filters_by_type_through_the_real_api(stack: Any) -> None:
    # Given the local stack with acme's and globex's seeded events
    # When acme's list is asked for one event type, as JSON
    result = run(stack, "events", "list", "--event-type", "webset.created", "--json")

    # Then it prints acme's events of that type, newest first
    assert result.exit_code == 0, result.stderr
    expected = [e.id for e in sorted(stack.seeded, key=lambda e: e.occurred_at, reverse=True)
                if e.tenant_id == "acme" and e.event_type == "webset.created"]  # fmt: skip
    assert [e["id"] for e in json.loads(result.stdout)["events"]] == expected


def test_list_pages_with_offset_through_the_real_api(stack: Any) -> None:
    # Given the local stack with acme's seeded events
    # When acme's list is asked for four at a time, from offset 0 and from offset 4
    first = json.loads(run(stack, "events", "list", "--limit", "4", "--json").stdout)
    second = json.loads(run(stack, "events", "list", "--limit", "4", "--offset", "4", "--json").stdout)

    # Then the two pages are acme's eight newest events, in order
    acme = [
        e.id for e in sorted(stack.seeded, key=lambda e: e.occurred_at, reverse=True) if e.tenant_id == "acme"
    ]
    assert [e["id"] for e in first["events"] + second["events"]] == acme[:8]
    # And the first says there is more
    assert first["hasNext"] is True


def test_get_shows_the_event_and_another_tenants_event_is_not_found(stack: Any) -> None:
    # Given an event of acme's and one of globex's
    mine = next(e for e in stack.seeded if e.tenant_id == "acme")
    theirs = next(e for e in stack.seeded if e.tenant_id == "globex")

    # When acme asks for each
    shown = run(stack, "events", "get", mine.id, "--json")
    hidden = run(stack, "events", "get", theirs.id)

    # Then its own is shown, with its payload
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["payload"] == mine.payload
    # And globex's is not found
    assert hidden.exit_code == cli.EXIT_NOT_FOUND
    assert "not found" in hidden.stderr


def test_the_apis_validation_errors_read_as_one_line(stack: Any) -> None:
    # When an event is asked for by an id that is not a UUID
    result = run(stack, "events", "get", "not-a-uuid")

    # Then it fails as bad input, the API's problem on one line
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert result.stderr.startswith("error: invalid request: event_id:")


def test_a_wrong_key_is_refused(stack: Any) -> None:
    # When the list is asked for with a key the API does not know
    result = run(stack, "--api-key", "wrong-key-0000", "events", "list")

    # Then it fails as an auth failure, saying unauthorized
    assert result.exit_code == cli.EXIT_AUTH
    assert "unauthorized" in result.stderr


def test_backfill_reads_a_vai_window_into_the_running_stack(tmp_path: Any) -> None:
    # Given a VAI events API with events two to three hours ago, and a stack polling it
    from eventhub.demo.vai import VaiFake
    from eventhub.local.stack import LocalStack
    from functions.models.event import utcnow

    document = json.loads(LOCAL_CONFIG.read_text())
    vai = next(c for c in document["connections"] if c["id"] == "vai-pull")
    with VaiFake(api_key=vai["poll"]["apiKey"]) as fake:
        vai["poll"]["baseUrl"] = fake.url
        config = tmp_path / "config.json"
        config.write_text(json.dumps(document))
        now = utcnow()
        fake.add_events(6, start=now - timedelta(hours=3), end=now - timedelta(hours=2))
        fake.add_events(2, start=now - timedelta(minutes=30), end=now - timedelta(minutes=10))  # outside
        with LocalStack(config) as stack:
            # When the window four to one hours ago is backfilled
            done = run_with(config, stack, "backfill", "vai-pull", "--from", "4h", "--to", "1h")

            # Then the run completes having read the six events of the window, and they are listed
            assert done.exit_code == 0, done.stderr
            assert "vai-pull (vai): completed - seen 6," in done.stdout
            window = cli.time_range("4h", "1h")
            wait_until_counted(stack.url, 6, query=f"?from={window[0]}&to={window[1]}")
            listed = run_with(config, stack, "events", "list", "--from", "4h", "--to", "1h", "--json")
            assert listed.exit_code == 0, listed.stderr
            assert json.loads(listed.stdout)["total"] == 6


def run_with(config: Any, stack: Any, *args: str) -> Ran:
    command = [sys.executable, "-c", "from eventhub.cli import main; main()"]
    done = subprocess.run(
        [*command, "--config", str(config), "--api-url", stack.url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def klavi_body(number: int, file_url: str) -> dict[str, Any]:
    from functions.models.event import format_timestamp, utcnow

    return {
        "partnerAppId": "12345678",
        "eventId": f"{1495468585434 + number}-0e73d1719173766fe4dfe1a8",
        "eventType": "analysis",
        "eventName": "analysis_finished",
        "eventTime": format_timestamp(utcnow()),
        "payload": {
            "batchId": f"2587225213{number}",
            "presignedUrl": f"{file_url}?X-Amz-Signature={number:064x}",
        },
    }


def test_replay_redrives_spilled_events_failed_copies_and_failed_counts(httpserver: Any) -> None:
    # Given a stack whose stream nobody reads (so only replay can copy and count), with one stored
    # Klavi event whose copy and count both ended in their on-failure queues, and one spilled event
    from eventhub.local.scheduler import Registration
    from eventhub.local.stack import LocalStack
    from eventhub.local.streams.delivery import failure_message
    from eventhub.local.streams.reader import lambda_record
    from eventhub.local.streams.subscriptions import local_subscriptions
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_store import EventStore
    from functions.adapters.spill import SpillQueue
    from functions.models.config import load_config
    from functions.models.event import Channel, utcnow
    from functions.providers import klavi

    httpserver.expect_request("/results/report.json").respond_with_json({"score": 712})
    file_url = httpserver.url_for("/results/report.json")
    config = load_config(LOCAL_CONFIG)
    with LocalStack(LOCAL_CONFIG, services=[Registration()]) as stack:
        blobs = BlobStore(stack.resources["bucket"], stack.client("s3"))
        store = EventStore(stack.resources["table"], stack.client("dynamodb"), blobs)
        stored = klavi.map_event(
            klavi_body(1, file_url), config.connection("klavi-pull"), utcnow(), Channel.POLL
        )
        store.put(stored)
        streams = stack.client("dynamodbstreams")
        arn = stack.client("dynamodb").describe_table(TableName=stack.resources["table"])["Table"][
            "LatestStreamArn"
        ]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        record = lambda_record(
            streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"][0], arn
        )
        sqs = stack.client("sqs")
        for subscription in local_subscriptions():
            queue = sqs.create_queue(QueueName=subscription.on_failure_queue)["QueueUrl"]
            message = failure_message(subscription, [record], arn, shard, invokes=4)
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(message))
        spilled = klavi_body(2, file_url)
        SpillQueue(stack.resources["spill_queue_url"], sqs, blobs).spill(
            connection_id="klavi-pull", provider="klavi", reason="store unavailable",
            received_at="2025-01-01T00:00:00Z", body=json.dumps(spilled).encode(),
        )  # fmt: skip

        # When the queues are replayed
        done = run(stack, "replay")

        # Then each queue says what was redriven, the file is copied and the event counted
        assert done.exit_code == 0, done.stderr
        assert "spilled events: 1 restored, 0 already stored, 0 left in the queue" in done.stdout
        assert "failed copies: 1 batch(es) of 1 record(s) redriven, 0 left" in done.stdout
        assert "failed aggregator batches: 1 batch(es) of 1 record(s) recounted, 0 left" in done.stdout
        artifact = store.get(stored.event.id).artifacts[0]
        assert artifact.status == "copied"
        assert json.loads(blobs.get(artifact.s3_key)) == {"score": 712}
        assert store.get(
            klavi.map_event(spilled, config.connection("klavi-pull"), utcnow(), Channel.POLL).event.id
        )
        # (the aggregator's failed batch by a rebuild of its tenant: the restored spilled event,
        # stored by then, is counted with it)
        wait_until_counted(stack.url, 2, deadline_seconds=0.1)
        for subscription in local_subscriptions():
            queue = sqs.get_queue_url(QueueName=subscription.on_failure_queue)["QueueUrl"]
            assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", []) == []
