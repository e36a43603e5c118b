"""End to end on one machine: webhooks into the local stack, the stream dispatched to the
aggregator, and the query API over HTTP answering with exact counts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from eventhub.local.signing import sign
from eventhub.local.stack import LocalStack
from tests.conftest import LOCAL_CONFIG, ROOT
from tests.integration.query.conftest import ACME_KEY

SAMPLE = ROOT / "events" / "webhooks" / "exa" / "webset.created.json"
SECRET = "exa_dev_webhook_secret"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(LOCAL_CONFIG) as running:  # every service: the stream dispatcher too
        yield running


def _webhook(tag: str) -> tuple[bytes, dict[str, str]]:
    body = SAMPLE.read_bytes().replace(b'"evt_', f'"evt_{tag}_'.encode(), 1)
    return body, sign("exa", SECRET, body)


def _get(stack: LocalStack, path: str, params: dict[str, Any] | None = None) -> Any:
    answer = requests.get(f"{stack.url}{path}", params=params, headers={"X-API-Key": ACME_KEY}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_webhooks_are_counted_off_the_stream_and_listed_with_exact_totals(stack: LocalStack) -> None:
    # Given 12 new webhooks from Exa, one of them delivered twice
    tag = uuid.uuid4().hex[:8]
    before = _get(stack, "/api/v1/events/aggregate")["total"]
    deliveries = [_webhook(f"{tag}{n}") for n in range(12)]
    for body, headers in [*deliveries, deliveries[0]]:
        answer = requests.post(f"{stack.url}/webhooks/exa-dev", data=body, headers=headers, timeout=30)
        assert answer.status_code in (200, 202), answer.text
    # When the local stream dispatch has run the aggregator
    deadline = time.monotonic() + 60
    while _get(stack, "/api/v1/events/aggregate")["total"] < before + 12 and time.monotonic() < deadline:
        time.sleep(0.3)
    # Then the aggregate, the type list's total and the stats agree: each event once
    aggregate = _get(stack, "/api/v1/events/aggregate")
    assert aggregate["total"] == before + 12
    listed = _get(stack, "/api/v1/events", {"event_type": "webset.created", "limit": 5})
    assert listed["total"] == dict((r["key"], r["count"]) for r in aggregate["byEventType"])["webset.created"]
    assert len(listed["events"]) == 5 and listed["hasNext"]
    following = _get(
        stack, "/api/v1/events", {"event_type": "webset.created", "limit": 5, "cursor": listed["nextCursor"]}
    )
    assert not {e["id"] for e in following["events"]} & {e["id"] for e in listed["events"]}
    actors = _get(stack, "/api/v1/events/stats/by-actor")["actors"]
    assert sum(a["total"] for a in actors if a["actorId"] == "exa-dev") >= 12


def test_docs_and_openapi_are_served_over_http(stack: LocalStack) -> None:
    # When the local stack is asked over HTTP for the OpenAPI document
    document = requests.get(f"{stack.url}/openapi.json", timeout=30)
    # Then it answers the document, with the query routes in it
    assert document.status_code == 200
    assert "/api/v1/events/aggregate" in document.json()["paths"]
    # When it is asked for the docs page
    page = requests.get(f"{stack.url}/docs", timeout=30)
    # Then it answers the Swagger UI page
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "SwaggerUIBundle" in page.text
