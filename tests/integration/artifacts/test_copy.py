"""The copier against a real HTTP server on 127.0.0.1 and moto: bytes, states, retries, crashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from functions.adapters.blob_store import BlobStore
from functions.logic.copying.run import copy_pending_artifacts, recopy_event
from functions.models.event import ArtifactStatus
from tests.integration.artifacts.conftest import Copying, MiB, pattern_bytes, pattern_digest, presigned


def stream(size: int, content_type: str = "application/zip") -> Response:
    """A body produced on the fly, without Content-Length (chunked)."""
    return Response(pattern_bytes(size), status=200, content_type=content_type)


class Crash(BaseException):
    """Stands for the process being killed: nothing below it gets to clean up."""


class CrashingBlobs(BlobStore):
    def __init__(self, inner: BlobStore, crash_on_part: int) -> None:
        super().__init__(inner.bucket, inner.s3)
        self.crash_on_part = crash_on_part

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes | bytearray) -> dict[str, str]:
        if number == self.crash_on_part:
            raise Crash()
        return super().upload_part(key, upload_id, number, data)


def test_file_is_copied_byte_identical_with_its_sha256(copying: Copying, httpserver: HTTPServer) -> None:
    # Given a Klavi event whose presigned URL serves a small JSON file
    body = json.dumps({"analysis": "ok", "score": 712}).encode()
    httpserver.expect_request("/klavi-results/batch-42.json").respond_with_data(
        body, content_type="application/json"
    )
    event_id = copying.klavi_event(presigned(httpserver.url_for("/klavi-results/batch-42.json")))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is copied with size, sha256, content type and key, and the bytes match
    artifact = copying.store.get(event_id).artifacts[0]
    assert [o.status for o in report.artifacts] == [ArtifactStatus.COPIED]
    assert artifact.status is ArtifactStatus.COPIED
    assert artifact.size == len(body)
    assert artifact.sha256 == hashlib.sha256(body).hexdigest()
    assert artifact.content_type == "application/json"
    assert artifact.s3_key == f"artifacts/acme/klavi/2025/02/26/{event_id}/result"
    assert copying.blobs.get(artifact.s3_key) == body
    # and the credentialed URL kept for the copier is gone
    assert copying.object_keys("artifact-sources/") == []


def test_multipart_file_is_copied_byte_identical(copying: Copying, httpserver: HTTPServer) -> None:
    # Given a file of a little over three 5 MiB parts, served chunked
    size = 15 * MiB + 12_345
    httpserver.expect_request("/big.bin").respond_with_handler(lambda request: stream(size))
    event_id = copying.klavi_event(presigned(httpserver.url_for("/big.bin")))

    # When it is copied
    copy_pending_artifacts(event_id, copying.deps())

    # Then the object is the same bytes, and no multipart upload is left open
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert (artifact.size, artifact.sha256) == (size, pattern_digest(size))
    data = copying.blobs.get(artifact.s3_key)
    assert hashlib.sha256(data).hexdigest() == pattern_digest(size)
    assert copying.incomplete_uploads() == []


def test_copied_artifact_is_not_fetched_again(copying: Copying, httpserver: HTTPServer) -> None:
    # Given an artifact already copied
    httpserver.expect_request("/once.bin").respond_with_data(b"once")
    event_id = copying.klavi_event(presigned(httpserver.url_for("/once.bin")))
    copy_pending_artifacts(event_id, copying.deps())

    # When the stream delivers the event again, and an operator asks for a recopy
    again = copy_pending_artifacts(event_id, copying.deps())
    recopied = recopy_event(event_id, copying.deps())

    # Then nothing is fetched a second time
    assert again.artifacts == [] and recopied.artifacts == []
    assert len(httpserver.log) == 1


def test_expired_url_is_marked_expired_without_retries(copying: Copying, httpserver: HTTPServer) -> None:
    # Given a presigned URL that has expired
    httpserver.expect_request("/old.bin").respond_with_data("<Error>Request has expired</Error>", status=403)
    event_id = copying.klavi_event(presigned(httpserver.url_for("/old.bin")))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is expired after one request, and the stream is not asked to retry
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.EXPIRED
    assert "403" in (artifact.reason or "")
    assert len(httpserver.log) == 1 and copying.sleeps == []
    assert not report.needs_retry


def test_503_then_200_is_retried_and_copied(copying: Copying, httpserver: HTTPServer) -> None:
    # Given a source that answers 503 once, then the file
    httpserver.expect_oneshot_request("/flaky.bin").respond_with_data("busy", status=503)
    httpserver.expect_request("/flaky.bin").respond_with_data(b"finally", content_type="text/plain")
    event_id = copying.klavi_event(presigned(httpserver.url_for("/flaky.bin")))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then it backed off once and copied the file
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.blobs.get(artifact.s3_key) == b"finally"
    assert len(copying.sleeps) == 1 and len(httpserver.log) == 2
    assert not report.needs_retry


def test_persistent_5xx_fails_retryable_and_asks_for_a_retry(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a source that keeps failing
    httpserver.expect_request("/down.bin").respond_with_data("down", status=502)
    event_id = copying.klavi_event(presigned(httpserver.url_for("/down.bin")))

    # When the copier runs out of attempts
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is failed (retryable), and the caller is told to retry the record
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.FAILED and artifact.retryable is True
    assert len(httpserver.log) == 3 and len(copying.sleeps) == 2
    assert report.needs_retry
    # and the failure is no longer "pending" for the stream filter
    item = copying.store.ddb.get_item(TableName=copying.store.table, Key={"id": {"S": event_id}})["Item"]
    assert item["pendingArtifacts"] == {"N": "0"}

    # When the source recovers and an operator recopies
    httpserver.clear()
    httpserver.expect_request("/down.bin").respond_with_data(b"back")
    recopied = recopy_event(event_id, copying.deps())

    # Then it is copied
    assert [o.status for o in recopied.artifacts] == [ArtifactStatus.COPIED]


def test_connection_refused_is_retried_then_failed(copying: Copying) -> None:
    # Given a URL to a loopback port nobody listens on
    event_id = copying.klavi_event(presigned("http://127.0.0.1:9/nothing.bin"))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then it is failed after its attempts, and retryable
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.FAILED and artifact.retryable
    assert report.needs_retry and len(copying.sleeps) == 2


def test_crash_between_parts_then_rerun_leaves_one_object_and_no_upload(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a file of four parts, and a copier process that dies while sending part 3
    size = 18 * MiB
    httpserver.expect_request("/crash.bin").respond_with_handler(lambda request: stream(size))
    event_id = copying.klavi_event(presigned(httpserver.url_for("/crash.bin")))
    with pytest.raises(Crash):
        copy_pending_artifacts(event_id, copying.deps(blobs=CrashingBlobs(copying.blobs, crash_on_part=3)))
    assert len(copying.incomplete_uploads()) == 1  # what the dead process left behind
    assert copying.store.get(event_id).artifacts[0].status is ArtifactStatus.PENDING

    # When the copier runs again (the stream retries the record)
    copy_pending_artifacts(event_id, copying.deps())

    # Then there is one complete object with the right bytes, and no multipart upload left
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED and artifact.sha256 == pattern_digest(size)
    assert copying.object_keys("artifacts/") == [artifact.s3_key]
    assert hashlib.sha256(copying.blobs.get(artifact.s3_key)).hexdigest() == pattern_digest(size)
    assert copying.incomplete_uploads() == []


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_cut_off_and_failed(
    copying: Copying, httpserver: HTTPServer, declared: bool
) -> None:
    # Given a size limit of 6 MiB and a 12 MiB file (declared up front, or not)
    copying.config = copying.config.model_copy(update={"max_artifact_bytes": 6 * MiB})
    size = 12 * MiB
    if declared:
        httpserver.expect_request("/huge.bin").respond_with_data(b"x" * size)
    else:
        httpserver.expect_request("/huge.bin").respond_with_handler(lambda request: stream(size))
    event_id = copying.klavi_event(presigned(httpserver.url_for("/huge.bin")))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is failed (not retryable), with nothing stored and no upload left open
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.FAILED and artifact.retryable is False
    assert "limit" in (artifact.reason or "")
    assert not report.needs_retry and len(httpserver.log) == 1
    assert copying.object_keys("artifacts/") == [] and copying.incomplete_uploads() == []


def test_not_found_is_failed_without_retries(copying: Copying, httpserver: HTTPServer) -> None:
    # Given an artifact whose source answers 404
    httpserver.expect_request("/gone.bin").respond_with_data("no", status=404)
    event_id = copying.klavi_event(presigned(httpserver.url_for("/gone.bin")))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is failed, not retryable, after one request, and no retry is asked for
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.FAILED and artifact.retryable is False
    assert len(httpserver.log) == 1 and not report.needs_retry


def test_redirect_within_policy_is_followed(copying: Copying, httpserver: HTTPServer) -> None:
    # Given a source that redirects, within the URL policy, to another path
    httpserver.expect_request("/moved.bin").respond_with_data(
        "", status=307, headers={"Location": "/here.bin?X-Amz-Signature=another"}
    )
    httpserver.expect_request("/here.bin").respond_with_data(b"here")
    event_id = copying.klavi_event(presigned(httpserver.url_for("/moved.bin")))

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then the redirect is followed and the file it leads to is copied
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.blobs.get(artifact.s3_key) == b"here"


def test_extend_signed_data_url_becomes_the_payload_and_stays_a_file(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given an Extend webhook whose payload is a signed_data_url
    full: dict[str, Any] = {"object": "extract_run", "id": "exr_1", "status": "PROCESSED", "output": {"n": 1}}
    httpserver.expect_request("/extend/payload.json").respond_with_json(full)
    event_id = copying.extend_event(presigned(httpserver.url_for("/extend/payload.json")))
    assert copying.store.get(event_id).payload["object"] == "signed_data_url"

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then the fetched JSON is the event's payload, and the file is kept too
    event = copying.store.get(event_id)
    assert event.payload == full
    assert event.artifacts[0].status is ArtifactStatus.COPIED
    assert json.loads(copying.blobs.get(event.artifacts[0].s3_key)) == full


def test_large_extend_payload_is_kept_in_s3_behind_the_item(copying: Copying, httpserver: HTTPServer) -> None:
    # Given a store whose items hold at most 1 KB of payload, and a 50 KB payload behind the URL
    copying.store.inline_limit = 1_000
    full = {"object": "extract_run", "id": "exr_2", "output": {"text": "z" * 50_000}}
    httpserver.expect_request("/extend/big.json").respond_with_json(full)
    event_id = copying.extend_event(presigned(httpserver.url_for("/extend/big.json")), event_id="evt_ext_2")

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then the item points at the payload in S3, and readers get the whole payload
    item = copying.store.ddb.get_item(TableName=copying.store.table, Key={"id": {"S": event_id}})["Item"]
    assert "payloadRef" in item and "payload" not in item
    assert copying.store.get(event_id).payload == full
