"""schemathesis against the query API's OpenAPI document, on the local gateway.

Every operation of the committed openapi.json is exercised with generated inputs (valid and
invalid), with a real tenant key, over seeded events. Properties: no 5xx, and every response
conforms to the document (status code, content type, body schema).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventhub.local.signing import sign
from eventhub.local.stack import LocalStack
from functions.models.config import Provider

ROOT = Path(__file__).resolve().parents[2]
KEY = "dev-key-acme-000000"
CASES: Counter = Counter()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(ROOT / "config" / "local.json", services=[]) as running:
        _seed(running)
        yield running
    print(f"\nschemathesis cases per operation: {dict(CASES)}; total {sum(CASES.values())}")


def _seed(stack: LocalStack) -> None:
    """A few events of every push provider, so that lists, flows and resources have content."""
    samples = [
        ("extend-dev", Provider.EXTEND, "wss_dev_extend_signing_secret",
         {"eventId": "st-ext-{n}", "eventType": "extract_run.processed",
          "payload": {"object": "extract_run", "id": "exr_{n}", "updatedAt": "{at}"}}),
        ("exa-dev", Provider.EXA, "exa_dev_webhook_secret",
         {"id": "st-exa-{n}", "object": "event", "type": "webset.created",
          "data": {"object": "webset", "id": "ws_1"}, "createdAt": "{at}"}),
    ]  # fmt: skip
    now = datetime.now(UTC)
    for connection, provider, secret, template in samples:
        for n in range(5):
            at = (now - timedelta(minutes=10 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps(template).replace("{n}", str(n)).replace("{at}", at).encode()
            response = requests.post(
                f"{stack.url}/webhooks/{connection}",
                data=body,
                headers=sign(provider, secret, body),
                timeout=30,
            )
            assert response.status_code == 200, response.text


SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.json")


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_query_api_never_errors_and_always_matches_its_document(case, stack: LocalStack) -> None:
    # Given a request schemathesis generated for one operation of the document, over seeded events
    CASES[f"{case.method} {case.path}"] += 1
    # When it is sent with acme's key
    # Then the answer is no server error and conforms to the document: status, content type and body
    case.call_and_validate(
        base_url=stack.url,
        headers={"X-API-Key": KEY},
        allow_redirects=False,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
