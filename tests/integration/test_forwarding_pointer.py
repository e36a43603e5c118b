"""An event too large for an EventBridge entry reaches the bus as a pointer the query API resolves."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LOCAL_CONFIG
from tests.support.bus_queue import attach_queue, drain

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "webhooks" / "exa" / "webset.created.json"
API_KEY = "dev-key-acme-000000"  # acme's dev key; exa-dev is acme's connection


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from eventhub.local.stack import LocalStack

    with LocalStack(LOCAL_CONFIG) as running:
        running.queue_url = attach_queue(running, "forwarding-pointer")
        yield running


def send_exa(stack: Any, document: dict[str, Any]) -> str:
    from eventhub.local.signing import sign
    from functions.models.config import Provider, load_config

    connection = load_config(LOCAL_CONFIG).connection("exa-dev")
    assert connection is not None and isinstance(connection.secrets[0], str)
    body = json.dumps(document).encode()
    headers = sign(Provider.EXA, connection.secrets[0], body, message_id=f"msg_{document['id']}")
    request = urllib.request.Request(
        f"{stack.url}/webhooks/exa-dev", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return str(json.load(response)["id"])


def get(stack: Any, path: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{stack.url}{path}", headers={"X-API-Key": API_KEY})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.load(response)


@pytest.mark.parametrize(
    ("size", "in_s3"),
    [(300_000, False), (400_000, True)],
    ids=["kept-in-the-item", "kept-in-s3"],
)
def test_an_oversized_payload_arrives_as_a_pointer_that_resolves_through_the_api(
    stack: Any, size: int, in_s3: bool
) -> None:
    # Given an Exa webhook whose payload is over EventBridge's 256 KB (in the item, or over the
    # store's 350 KB inline limit and so in S3)
    document = json.loads(SAMPLE.read_text())
    document["id"] = f"evt_oversized_{size}"
    document["data"]["metadata"] = {"notes": "x" * size}

    # When it is received and stored
    event_id = send_exa(stack, document)

    # And the store keeps the payload where its size says
    item = stack.client("dynamodb").get_item(TableName=stack.resources["table"], Key={"id": {"S": event_id}})
    assert ("payloadRef" in item["Item"]) is in_s3

    # Then its entry arrives on the bus with no payload but a pointer to the API path
    received = [
        m for m in drain(stack, stack.queue_url, waiting_for={event_id}) if m["detail"].get("id") == event_id
    ]
    assert len(received) >= 1
    detail = received[0]["detail"]
    assert detail["payload"] is None
    assert detail["payloadRef"] == f"/api/v1/events/{event_id}"
    assert received[0]["source"] == "eventhub.exa" and received[0]["detail-type"] == "webset.created"
    assert len(json.dumps(received[0]).encode()) < 256 * 1024
    # And the pointer, fetched with the tenant's key, gives the full payload
    served = get(stack, detail["payloadRef"])
    assert served["id"] == event_id
    assert served["payload"] == document
