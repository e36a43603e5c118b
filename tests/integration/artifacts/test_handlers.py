"""The copier Lambda on the table's stream (via the local dispatcher) and the download routes,
in-process against moto with config/local.json; the file host is a real server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from pytest_httpserver import HTTPServer

from eventhub.local.proxy_events import proxy_event
from eventhub.local.routes import ROUTES, find_route
from eventhub.local.streams.dispatcher import StreamDispatcher
from eventhub.local.streams.subscriptions import local_subscriptions
from functions.handlers import copier, query
from functions.logic.copying.deps import RetryPolicy
from functions.models.event import ArtifactStatus
from tests.conftest import EVENTS_DIR, FakeContext
from tests.integration.artifacts.conftest import (
    CREDENTIAL,
    KLAVI,
    SIGNATURE,
    Copying,
    hub_config,
    presigned,
)

ACME_KEY = "dev-key-acme-000000"
GLOBEX_KEY = "dev-key-globex-00000"


@pytest.fixture
def env(lambda_env: dict[str, Any], copying: Copying, monkeypatch: pytest.MonkeyPatch) -> Copying:
    """Handlers on config/local.json; the copier retries without waiting."""
    monkeypatch.setattr(copier, "RETRY_POLICY", RetryPolicy(attempts=3, base_delay=0))
    copying.config = hub_config(connections=[KLAVI])
    return copying


@pytest.fixture
def dispatcher(env: Copying, lambda_env: dict[str, Any]) -> tuple[StreamDispatcher, list[dict[str, Any]]]:
    failures: list[dict[str, Any]] = []
    arn = lambda_env["dynamodb"].describe_table(TableName=lambda_env["table"])["Table"]["LatestStreamArn"]
    streams = lambda_env["dynamodbstreams"]
    subscription = next(s for s in local_subscriptions() if s.name == "copier")
    dispatcher = StreamDispatcher([subscription])

    def invoke(handler: str, event: dict[str, Any]) -> Any:
        assert handler == "functions.handlers.copier.handler"
        return copier.handler(event, FakeContext())

    dispatcher.attach(streams, arn, invoke, lambda sub, message: failures.append(message))
    return dispatcher, failures


def api(method: str, path: str, key: str | None) -> dict[str, Any]:
    route, params = find_route(ROUTES, path)  # type: ignore[misc]
    headers = [("X-API-Key", key)] if key else []
    event = proxy_event(
        method=method, raw_path=path, headers=headers, body=b"", route=route, path_parameters=params
    )
    return query.handler(event, FakeContext())


def header(response: dict[str, Any], name: str) -> str:
    single = response.get("headers") or {}
    return single.get(name) or (response.get("multiValueHeaders") or {})[name][0]


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    """Every record of our logger, rendered with its structured fields."""
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = {k: v for k, v in record.__dict__.items() if k not in ("args", "msg")}
            lines.append(record.getMessage() + json.dumps(fields, default=str))

    handler = Capture(level=logging.DEBUG)
    targets = [logging.getLogger("eventhub"), logging.getLogger()]
    levels = [target.level for target in targets]
    for target in targets:
        target.addHandler(handler)
        target.setLevel(logging.INFO)  # whatever an earlier test in this worker left it at
    yield lines
    for target, level in zip(targets, levels, strict=True):
        target.removeHandler(handler)
        target.setLevel(level)


def test_stream_record_of_a_klavi_event_ends_with_its_file_in_the_bucket(
    env: Copying, dispatcher: tuple[StreamDispatcher, list[dict[str, Any]]], httpserver: HTTPServer
) -> None:
    # Given a Klavi event just stored, whose file is on the provider's server
    httpserver.expect_request("/results/batch-42.json").respond_with_json({"score": 700})
    event_id = env.klavi_event(presigned(httpserver.url_for("/results/batch-42.json")))
    stream, failures = dispatcher

    # When the stream is dispatched to the copier
    stream.poll_once()

    # Then the file is in the bucket and the event says so
    artifact = env.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert json.loads(env.blobs.get(artifact.s3_key)) == {"score": 700}
    assert failures == []
    # and the copier's own updates (pendingArtifacts 0) do not come back to it
    assert stream.poll_once() == 0


def test_a_batch_of_copies_writes_one_log_line_its_metric_document(
    env: Copying,
    dispatcher: tuple[StreamDispatcher, list[dict[str, Any]]],
    httpserver: HTTPServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given three Klavi events just stored, whose files are on the provider's server
    httpserver.expect_request("/results/one.json").respond_with_json({"n": 1})
    ids = [
        env.klavi_event(presigned(httpserver.url_for("/results/one.json")), event_id=f"k-{n}")
        for n in range(3)
    ]
    stream, _ = dispatcher
    capfd.readouterr()

    # When the stream is dispatched to the copier (one batch)
    stream.poll_once()

    # Then every file is copied, and the invocation wrote one line (CloudWatch bills every line):
    # its metric document, which counts the three copies
    assert {env.store.get(i).artifacts[0].status for i in ids} == {ArtifactStatus.COPIED}
    lines = [line for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    (document,) = (json.loads(line) for line in lines)
    copied = document["ArtifactCopied"]  # a value per copy, or their sum
    assert (sum(copied) if isinstance(copied, list) else copied) == 3


def test_failing_source_is_retried_by_the_stream_then_sent_to_the_on_failure_queue(
    env: Copying, dispatcher: tuple[StreamDispatcher, list[dict[str, Any]]], httpserver: HTTPServer
) -> None:
    # Given a file host that answers 503 to everything
    httpserver.expect_request("/results/down.bin").respond_with_data("busy", status=503)
    event_id = env.klavi_event(presigned(httpserver.url_for("/results/down.bin")))
    stream, failures = dispatcher

    # When the stream is dispatched
    stream.poll_once()

    # Then the copier reported the record (1 call + 3 Lambda retries, 3 attempts each),
    # the record went to the on-failure destination, and the artifact is failed
    assert len(httpserver.log) == 4 * 3
    assert len(failures) == 1 and failures[0]["DDBStreamBatchInfo"]["batchSize"] == 1
    artifact = env.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.FAILED and artifact.retryable

    # When the host recovers and the copier is invoked with the recopy action
    httpserver.clear()
    httpserver.expect_request("/results/down.bin").respond_with_data(b"ok now")
    result = copier.handler({"action": "recopy", "eventId": event_id}, FakeContext())

    # Then the artifact is copied
    assert [a["status"] for a in result["artifacts"]] == ["copied"]
    assert env.store.get(event_id).artifacts[0].status is ArtifactStatus.COPIED


def test_sample_stream_event_for_an_unknown_event_is_a_no_op(env: Copying) -> None:
    # Given the sample stream record of a Klavi event with a pending artifact, which the table does not hold
    sample = json.loads((EVENTS_DIR / "dynamodb_stream" / "klavi_pending_artifact_insert.json").read_text())
    # When the copier is invoked with it
    # Then it does nothing and reports no failed record
    assert copier.handler(sample, FakeContext()) == {"batchItemFailures": []}


def test_artifact_list_and_download_redirect(env: Copying, httpserver: HTTPServer) -> None:
    # Given an event whose file was copied
    httpserver.expect_request("/results/file.zip").respond_with_data(
        b"PK\x03\x04zip", content_type="application/zip"
    )
    event_id = env.klavi_event(presigned(httpserver.url_for("/results/file.zip")))
    copier.handler({"action": "recopy", "eventId": event_id}, FakeContext())

    # When the tenant lists its artifacts
    listed = api("GET", f"/api/v1/events/{event_id}/artifacts", ACME_KEY)

    # Then it sees the copy's state, and a download path
    assert listed["statusCode"] == 200
    body = json.loads(listed["body"])
    (artifact,) = body["artifacts"]
    assert body["eventId"] == event_id
    assert artifact["status"] == "copied" and artifact["size"] == 7
    assert artifact["contentType"] == "application/zip"
    assert artifact["downloadPath"] == f"/api/v1/events/{event_id}/artifacts/0"
    assert artifact["sourceUrl"] == httpserver.url_for("/results/file.zip")

    # When it follows the download path
    download = api("GET", f"/api/v1/events/{event_id}/artifacts/0", ACME_KEY)

    # Then it is redirected to a short-lived presigned GET of our copy
    assert download["statusCode"] == 302
    location = header(download, "Location")
    parts = urlsplit(location)
    assert env.blobs.bucket in location and "artifacts/acme/klavi/" in parts.path
    assert "X-Amz-Expires=300" in parts.query or "Expires=" in parts.query
    assert requests.get(location, timeout=5).content == b"PK\x03\x04zip"


def test_artifact_routes_are_tenant_scoped(env: Copying, httpserver: HTTPServer) -> None:
    # Given acme's event with a copied file
    httpserver.expect_request("/results/a.bin").respond_with_data(b"acme only")
    event_id = env.klavi_event(presigned(httpserver.url_for("/results/a.bin")))
    copier.handler({"action": "recopy", "eventId": event_id}, FakeContext())

    # Then another tenant gets 404 on both routes, and no key is 401
    assert api("GET", f"/api/v1/events/{event_id}/artifacts", GLOBEX_KEY)["statusCode"] == 404
    assert api("GET", f"/api/v1/events/{event_id}/artifacts/0", GLOBEX_KEY)["statusCode"] == 404
    assert api("GET", f"/api/v1/events/{event_id}/artifacts/0", None)["statusCode"] == 401


def test_download_of_an_artifact_without_a_copy_is_404(env: Copying, httpserver: HTTPServer) -> None:
    # Given an event whose artifact was not copied (its URL had expired)
    httpserver.expect_request("/results/old.bin").respond_with_data("expired", status=403)
    event_id = env.klavi_event(presigned(httpserver.url_for("/results/old.bin")))
    copier.handler({"action": "recopy", "eventId": event_id}, FakeContext())

    # When the tenant asks to download it, an artifact it does not have, and a negative index
    missing = api("GET", f"/api/v1/events/{event_id}/artifacts/0", ACME_KEY)
    out_of_range = api("GET", f"/api/v1/events/{event_id}/artifacts/7", ACME_KEY)
    negative = api("GET", f"/api/v1/events/{event_id}/artifacts/-1", ACME_KEY)

    # Then the missing copy is not found, and the reason says it expired
    assert missing["statusCode"] == 404 and "expired" in json.loads(missing["body"])["message"]
    # And the index out of range is not found
    assert out_of_range["statusCode"] == 404
    # And the negative index is refused as invalid
    assert negative["statusCode"] == 422


def test_credentials_of_the_source_url_never_reach_items_objects_logs_or_api(
    env: Copying,
    dispatcher: tuple[StreamDispatcher, list[dict[str, Any]]],
    httpserver: HTTPServer,
    captured_logs: list[str],
) -> None:
    # Given events whose copies end copied, expired, failed and refused, all with presigned URLs
    httpserver.expect_request("/ok.bin").respond_with_data(b"fine")
    httpserver.expect_request("/old.bin").respond_with_data("expired", status=403)
    httpserver.expect_request("/down.bin").respond_with_data("down", status=500)
    ids = [
        env.klavi_event(presigned(httpserver.url_for("/ok.bin")), event_id="k-ok"),
        env.klavi_event(presigned(httpserver.url_for("/old.bin")), event_id="k-old"),
        env.klavi_event(presigned(httpserver.url_for("/down.bin")), event_id="k-down"),
        env.klavi_event(presigned("https://169.254.169.254/latest/meta-data/"), event_id="k-ssrf"),
    ]
    stream, _ = dispatcher

    # When the copier runs over the stream and the API is read
    stream.poll_once()
    responses = [api("GET", f"/api/v1/events/{i}/artifacts", ACME_KEY) for i in ids]
    responses += [api("GET", f"/api/v1/events/{i}", ACME_KEY) for i in ids]
    responses.append(api("GET", f"/api/v1/events/{ids[0]}/artifacts/0", ACME_KEY))

    # Then no stored item holds them but in the attribute the copier reads, and only the failure
    # a retry may cure and the refusal (for a recopy once the host is admitted) still do; no
    # object, no log line and no response holds them
    def leaks(text: str) -> bool:
        return SIGNATURE in text or CREDENTIAL in text

    items = env.store.ddb.scan(TableName=env.store.table)["Items"]
    assert len(items) == 4
    assert sorted(item["id"]["S"] for item in items if "artifactSources" in item) == sorted([ids[2], ids[3]])
    assert not any(leaks(json.dumps({k: v for k, v in i.items() if k != "artifactSources"})) for i in items)
    keys = env.object_keys()
    assert keys and all(key.startswith("artifacts/") for key in keys)
    assert not any(leaks(env.blobs.get(key).decode("latin-1")) for key in keys)
    assert captured_logs and not any(leaks(line) for line in captured_logs)
    assert all(r["statusCode"] in (200, 302) for r in responses)
    assert not any(leaks(json.dumps(r)) for r in responses)
    states = {i: env.store.get(i).artifacts[0].status.value for i in ids}
    assert list(states.values()) == ["copied", "expired", "failed", "refused"]
