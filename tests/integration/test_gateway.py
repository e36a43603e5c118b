"""The local runtime over real HTTP on 127.0.0.1: the gateway in front of the real handlers,
moto in server mode behind them, started once for the module."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from eventhub.local.gateway import MAX_EVENT_BYTES
from eventhub.local.routes import INTAKE_HANDLER
from eventhub.local.signing import sign
from eventhub.local.stack import LocalStack
from tests.conftest import LOCAL_CONFIG, ROOT
from tests.integration.test_intake import ACME_KEY, BY_NAME, GLOBEX_KEY, PROVIDERS, Provider

# Where each provider keeps its event id in the sample body, to make a body unique per test.
SAMPLE_IDS = {
    "extend": b"evt_classify_Xj8mK2pL9nR4vT7q",
    "exa": b"evt_01jqmd2wd3q4x5p9mrt2a7k8nv",
    "klavi": b"1495468585434-0e73d1719173766fe4dfe1a8",
}


class Recorder:
    """A background service that remembers what the stack gave it."""

    def __init__(self) -> None:
        self.started_with: LocalStack | None = None
        self.table_existed = False
        self.stopped = False

    def start(self, stack: LocalStack) -> None:
        self.started_with = stack
        tables = stack.client("dynamodb").list_tables()["TableNames"]
        self.table_existed = stack.resources["table"] in tables and os.environ["TABLE_NAME"] in tables

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def stack(recorder: Recorder) -> Iterator[LocalStack]:
    with LocalStack(LOCAL_CONFIG, services=[recorder]) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def unique(provider: Provider, tag: str) -> tuple[bytes, dict[str, str]]:
    """The provider's sample as a new event (its id suffixed with ``tag``), signed now."""
    body = provider.body()
    if provider.name == "standard-webhooks":
        return body, sign(provider.name, provider.secret, body, message_id=f"msg_{tag}")
    original = SAMPLE_IDS[provider.name]
    body = body.replace(original, original + b"-" + tag.encode())
    return body, sign(provider.name, provider.secret, body)


def post(
    http: requests.Session, stack: LocalStack, connection: str, body: bytes, headers: dict[str, str]
) -> Any:
    return http.post(f"{stack.url}/webhooks/{connection}", data=body, headers=headers, timeout=30)


def count_items(stack: LocalStack) -> int:
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.resources["table"], Select="COUNT")
    )
    return sum(page["Count"] for page in pages)


def test_health_is_200_once_ready(stack: LocalStack, http: requests.Session) -> None:
    # When the running local stack's health is asked for
    response = http.get(f"{stack.url}/health", timeout=5)

    # Then it answers ok
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_background_services_start_after_the_resources_and_environment_exist(
    stack: LocalStack, recorder: Recorder
) -> None:
    # When the local stack has started its background services
    # Then each was started with the stack
    assert recorder.started_with is stack
    # And after the table and the functions' environment existed
    assert recorder.table_existed
    assert stack.services == [recorder]


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_signed_delivery_over_http_is_stored_and_read_back_with_its_tenants_key(
    provider: Provider, stack: LocalStack, http: requests.Session
) -> None:
    # Given a provider's sample delivery, made unique and signed with its connection's secret
    body, headers = unique(provider, "http-1")

    # When it is posted over HTTP to its connection's webhook
    response = post(http, stack, provider.connection, body, headers)

    # Then it is stored as a new event
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["duplicate"] is False
    # And the tenant's key reads it back
    read = http.get(
        f"{stack.url}/api/v1/events/{answer['id']}", headers={"X-API-Key": provider.api_key}, timeout=10
    )
    assert read.status_code == 200
    assert read.json()["eventType"] == provider.event_type
    # And another tenant's key does not find it
    other_key = ACME_KEY if provider.api_key == GLOBEX_KEY else GLOBEX_KEY
    hidden = http.get(
        f"{stack.url}/api/v1/events/{answer['id']}", headers={"X-API-Key": other_key}, timeout=10
    )
    assert hidden.status_code == 404


def test_redelivery_over_http_is_a_duplicate(stack: LocalStack, http: requests.Session) -> None:
    # Given a Klavi delivery already stored
    provider = BY_NAME["klavi"]
    body, headers = unique(provider, "dup")
    first = post(http, stack, provider.connection, body, headers).json()
    before = count_items(stack)

    # When the same body is delivered again, signed anew
    again = post(http, stack, provider.connection, body, sign("klavi", provider.secret, body))

    # Then it is answered as a duplicate of the first event
    assert again.status_code == 200
    assert again.json() == {"id": first["id"], "duplicate": True}
    # And nothing more is stored
    assert count_items(stack) == before


def test_get_without_a_key_is_401_with_a_json_body(stack: LocalStack, http: requests.Session) -> None:
    # When an event is asked for over HTTP without a key
    response = http.get(f"{stack.url}/api/v1/events/00000000-0000-4000-8000-000000000000", timeout=10)

    # Then it answers 401 with a JSON body
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "unauthorized"


def test_bearer_token_reads_like_x_api_key(stack: LocalStack, http: requests.Session) -> None:
    # Given an Exa event delivered for acme
    provider = BY_NAME["exa"]
    body, headers = unique(provider, "bearer")
    event_id = post(http, stack, provider.connection, body, headers).json()["id"]

    # When it is read with acme's key as a bearer token
    read = http.get(f"{stack.url}/api/v1/events/{event_id}", headers={"Authorization": f"Bearer {ACME_KEY}"})

    # Then it is answered as with X-API-Key
    assert read.status_code == 200
    assert read.json()["payload"] == json.loads(body)


def test_body_over_6_mb_is_413_without_invoking_the_function(
    stack: LocalStack, http: requests.Session
) -> None:
    # Given a signed standard-webhooks body larger than a Lambda event may be
    provider = BY_NAME["standard-webhooks"]
    body = json.dumps({"type": "bulk.export", "blob": "x" * MAX_EVENT_BYTES}).encode()
    invoked = stack.runtime.invocations[INTAKE_HANDLER]
    stored = count_items(stack)

    # When it is posted
    response = post(http, stack, provider.connection, body, sign(provider.name, provider.secret, body))

    # Then the gateway answers 413
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    # And the function is not invoked, and nothing is stored
    assert stack.runtime.invocations[INTAKE_HANDLER] == invoked
    assert count_items(stack) == stored


def test_body_under_6_mb_whose_base64_event_is_over_is_413(stack: LocalStack, http: requests.Session) -> None:
    # Given a signed body under 6 MB that is not UTF-8, so its base64 event is over the limit
    provider = BY_NAME["extend"]
    body = b"\xff" * (MAX_EVENT_BYTES * 3 // 4 + 1024)  # not UTF-8: travels base64-encoded
    invoked = stack.runtime.invocations[INTAKE_HANDLER]

    # When it is posted
    response = post(http, stack, provider.connection, body, sign(provider.name, provider.secret, body))

    # Then the gateway answers 413, naming the request event's size
    assert len(body) < MAX_EVENT_BYTES
    assert response.status_code == 413
    assert "request event" in response.json()["message"]
    # And the function is not invoked
    assert stack.runtime.invocations[INTAKE_HANDLER] == invoked


def test_non_utf8_body_reaches_the_handler_byte_exact(stack: LocalStack, http: requests.Session) -> None:
    # Given a signed Extend body that is not UTF-8
    provider = BY_NAME["extend"]
    body = b'{"eventId": "evt_latin1", "note": "caf\xe9"}'

    # When it is posted
    response = post(http, stack, provider.connection, body, sign(provider.name, provider.secret, body))

    # Then the signature over the raw bytes verified, so the bytes arrived intact; and the body is refused
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["message"]


def test_malformed_json_over_http_is_400_naming_the_problem(
    stack: LocalStack, http: requests.Session
) -> None:
    # Given a signed Exa body that is not valid JSON
    provider = BY_NAME["exa"]
    body = b'{"id": "evt_x", "type": "webset.created", "data": {'

    # When it is posted
    response = post(http, stack, provider.connection, body, sign(provider.name, provider.secret, body))

    # Then it is refused with 400, saying it is not valid JSON
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_unknown_connection_over_http_is_404(stack: LocalStack, http: requests.Session) -> None:
    # Given a sample body
    body = BY_NAME["exa"].body()

    # When it is posted to a connection that does not exist
    response = post(http, stack, "nobody", body, sign("exa", "whatever", body))

    # Then it is not found
    assert response.status_code == 404


def test_unrouted_path_is_404_and_wrong_method_is_405(stack: LocalStack, http: requests.Session) -> None:
    # When a path no route serves is asked for
    # Then it is not found
    assert http.get(f"{stack.url}/nowhere", timeout=5).status_code == 404
    # When a webhook is asked for with GET, and a path under /webhooks/ that is no connection's
    invoked = stack.runtime.invocations[INTAKE_HANDLER]
    wrong = http.get(f"{stack.url}/webhooks/exa-dev", timeout=5)
    deeper = http.post(f"{stack.url}/webhooks/exa-dev/extra", data=b"{}", timeout=5)
    # Then the method is not allowed, and POST is named as the one allowed
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"
    assert wrong.json()["error"] == "method_not_allowed"
    # And the path is not found
    assert deeper.status_code == 404 and deeper.json()["error"] == "not_found"
    # And the intake answered both itself, as behind its function URL in AWS
    assert stack.runtime.invocations[INTAKE_HANDLER] == invoked + 2


def test_store_fault_switch_makes_writes_fail_as_throttled_until_turned_off(
    stack: LocalStack, http: requests.Session
) -> None:
    # Given a new Extend delivery, and the store's fault switch on for every write
    provider = BY_NAME["extend"]
    body, headers = unique(provider, "faults")
    before = count_items(stack)
    faults = stack.set_store_fault_rate(1.0)
    try:
        # When it is posted
        refused = post(http, stack, provider.connection, body, headers)
    finally:
        stack.set_store_fault_rate(0.0)

    # And posted again once the switch is off
    accepted = post(http, stack, provider.connection, body, sign(provider.name, provider.secret, body))

    # Then the first is refused as the store being unavailable, by the one fault injected
    assert refused.status_code == 503
    assert refused.json()["error"] == "store_unavailable"
    assert faults.injected == 1
    # And the second is stored
    assert accepted.status_code == 200
    assert count_items(stack) == before + 1


def test_stopping_stops_services_and_closes_the_port() -> None:
    # Given a local stack started with a background service
    recorder = Recorder()
    stack = LocalStack(LOCAL_CONFIG, services=[recorder]).start()
    url = stack.url
    assert requests.get(f"{url}/health", timeout=5).status_code == 200

    # When it is stopped
    stack.stop()

    # Then the service is stopped
    assert recorder.stopped
    # And the port is closed
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=2)
    # And the environment no longer points at its endpoint
    assert "AWS_ENDPOINT_URL" not in os.environ or os.environ["AWS_ENDPOINT_URL"] != stack.endpoint_url


def test_make_run_prints_one_ready_line_and_stops_cleanly_on_ctrl_c(tmp_path: Any) -> None:
    # Given `make run`'s command started quietly on any free port
    process = subprocess.Popen(
        [sys.executable, "-m", "eventhub.local", "--config", str(LOCAL_CONFIG), "--port", "0", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    try:
        assert process.stdout is not None
        # When it prints its ready line
        seen = []
        match = None
        while match is None and len(seen) < 50:
            line = process.stdout.readline()
            assert line, f"exited before the ready line: {seen}"
            seen.append(line.strip())
            match = re.fullmatch(r"ready on (http://127\.0\.0\.1:(\d+))", line.strip())
        assert match, seen
        # Then the stack answers on the URL it printed
        assert requests.get(f"{match.group(1)}/health", timeout=5).status_code == 200

        # When it is sent Ctrl-C
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Then it exits cleanly, without printing another ready line
    assert code == 0
    assert "ready on" not in process.stdout.read()


def test_port_in_use_is_reported_not_raised(stack: LocalStack) -> None:
    # Given a local stack already listening on its port
    # When another is started on the same port
    result = subprocess.run(
        [sys.executable, "-m", "eventhub.local", "--config", str(LOCAL_CONFIG), "--port", str(stack.port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # Then it exits with 1, saying it cannot start
    assert result.returncode == 1
    assert "cannot start" in result.stderr
    # And no traceback is shown
    assert "Traceback" not in result.stderr
