"""The registry commands against a running local stack: the stack started in this process (its
functions keep registry answers for ``CACHE_SECONDS``), the ``eventhub`` command run in-process
against it through its registered endpoint, and plain HTTP to its webhooks and query API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eventhub import cli
from tests.conftest import EVENTS_DIR, LOCAL_CONFIG

CACHE_SECONDS = 0.5
EXTEND_SAMPLE = EVENTS_DIR / "webhooks" / "extend" / "classify_run.processed.json"


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    """config/local.json applied at start; no stream consumers or scheduler (nothing runs in the
    background to print into the command's captured output), the endpoint registered."""
    from eventhub.local.scheduler import Registration
    from eventhub.local.stack import LocalStack

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGISTRY_CACHE_SECONDS", str(CACHE_SECONDS))
        with LocalStack(LOCAL_CONFIG, port=0, services=[Registration()]) as running:
            yield running


def eventhub(stack: Any, *args: str, stdin: str | None = None, config: Path = LOCAL_CONFIG) -> Any:
    """``eventhub --api-url <the stack> ARGS`` in this process: exit_code, stdout, stderr."""
    base = ["--config", str(config), "--api-url", stack.url]
    return CliRunner().invoke(cli.app, [*base, *args], input=stdin, env={"COLUMNS": "200"})


def past_the_cache_bound() -> None:
    time.sleep(CACHE_SECONDS + 0.3)


def status_of(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def query_status(stack: Any, key: str) -> int:
    """The query API's answer to ``GET /api/v1/events`` with this key."""
    request = urllib.request.Request(f"{stack.url}/api/v1/events?limit=1", headers={"X-API-Key": key})
    return status_of(request)


def webhook_status(stack: Any, connection_id: str, provider: str, secret: str, body: bytes) -> int:
    """POST a body signed now with ``secret`` to the connection's webhook URL."""
    from eventhub.local.signing import sign

    request = urllib.request.Request(
        f"{stack.url}/webhooks/{connection_id}",
        data=body,
        headers=sign(provider, secret, body),
        method="POST",
    )
    return status_of(request)


def extend_body(event_id: str) -> bytes:
    """The Extend sample as another provider event, so each test stores an event of its own."""
    document = json.loads(EXTEND_SAMPLE.read_text())
    document["eventId"] = event_id
    return json.dumps(document).encode()
