"""``make run``: a Klavi event's file lands in the local bucket within seconds, and
``make recopy`` retries a failed copy against the running stack."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from eventhub.local import recopy
from eventhub.local.signing import sign
from eventhub.local.stack import LocalStack
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from tests.conftest import LOCAL_CONFIG
from tests.integration.artifacts.conftest import presigned

KLAVI_SECRET = "klavi-dev-secret-key"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack(LOCAL_CONFIG) as running:
        yield running


def _deliver_klavi(stack: LocalStack, event_id: str, url: str) -> str:
    body = json.dumps(
        {
            "partnerAppId": "app-1",
            "eventId": event_id,
            "eventType": "analysis",
            "eventName": "analysis_finished",
            "eventTime": "2025-02-26T20:08:17.848Z",
            "payload": {"batchId": "batch-7", "presignedUrl": url},
        }
    ).encode()
    request = urllib.request.Request(
        f"{stack.url}/webhooks/klavi-push",
        data=body,
        headers=sign("klavi", KLAVI_SECRET, body),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


def _store(stack: LocalStack) -> EventStore:
    blobs = BlobStore(stack.resources["bucket"], stack.client("s3"))
    return EventStore(stack.resources["table"], stack.client("dynamodb"), blobs)


def _wait_for(status: str, store: EventStore, event_id: str, seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        artifact = store.get(event_id).artifacts[0]
        if artifact.status.value == status:
            return artifact
        time.sleep(0.1)
    raise AssertionError(f"artifact still {artifact.status.value} after {seconds}s")


def _wait_for_the_on_failure_queue(stack: LocalStack, seconds: float = 60) -> None:
    """Until the stream has given the copier's record up (its retries done)."""
    sqs, url = stack.client("sqs"), stack.resources["copier_failures_queue_url"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"):
            return
    raise AssertionError(f"no on-failure message after {seconds}s")


def test_klavi_event_file_lands_in_the_local_bucket(stack: LocalStack, httpserver: HTTPServer) -> None:
    # Given the local stack, and Klavi's file on a server on 127.0.0.1
    httpserver.expect_request("/klavi/batch-7.json").respond_with_json({"result": "approved"})

    # When a Klavi event pointing at it arrives
    event_id = _deliver_klavi(stack, "evt-local-1", presigned(httpserver.url_for("/klavi/batch-7.json")))

    # Then within seconds the stream has taken it to the copier, and the file is in the bucket
    store = _store(stack)
    artifact = _wait_for("copied", store, event_id)
    assert json.loads(store.blobs.get(artifact.s3_key)) == {"result": "approved"}


def test_make_recopy_retries_a_failed_copy_on_the_running_stack(
    stack: LocalStack, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an event whose copy failed in a way a retry may cure (the file host answered 503
    # to every attempt, and to Lambda's retries of the record)
    down = {"now": True}

    def host(request: Any) -> Response:
        if down["now"]:
            return Response("busy", status=503)
        return Response(b"late but here", status=200)

    httpserver.expect_request("/klavi/late.json").respond_with_handler(host)
    event_id = _deliver_klavi(stack, "evt-local-2", presigned(httpserver.url_for("/klavi/late.json")))
    store = _store(stack)
    _wait_for_the_on_failure_queue(stack)
    assert store.get(event_id).artifacts[0].status.value == "failed"

    # When the file host is back and `make recopy EVENT=id` runs
    down["now"] = False
    code = recopy.main(["--event", event_id, "--port", str(stack.port)])

    # Then the artifact is copied and the command says so
    assert code == 0
    assert "copied" in capsys.readouterr().out
    assert store.blobs.get(store.get(event_id).artifacts[0].s3_key) == b"late but here"


def test_recopy_without_a_running_stack_says_how_to_start_one(capsys: pytest.CaptureFixture[str]) -> None:
    # When `make recopy` runs with no local stack listening on its port
    # Then it fails with the usage exit code
    assert recopy.main(["--event", "x", "--port", "1"]) == 2
    # And says to start one with make run
    assert "make run" in capsys.readouterr().err
