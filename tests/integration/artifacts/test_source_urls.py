"""The credentialed source URL lives in the event's item, in an attribute nothing serves, until the
update that records its artifact's final outcome removes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from functions import table_schema as schema
from functions.adapters.event_store import EventStore
from functions.logic.copying.run import copy_pending_artifacts, recopy_event
from functions.logic.publishing.entries import entries_of
from functions.models.event import Artifact, ArtifactStatus, CanonicalEvent, Channel, NewEvent
from functions.models.items import ARTIFACT_SOURCES_ATTRIBUTE
from tests.integration.artifacts.conftest import CREDENTIAL, SIGNATURE, Copying, hub_config, presigned


def item_of(copying: Copying, event_id: str) -> dict[str, Any]:
    key = {schema.PARTITION_KEY: {"S": event_id}}
    return copying.store.ddb.get_item(TableName=copying.store.table, Key=key, ConsistentRead=True)["Item"]


def leaks(value: Any) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return SIGNATURE in text or CREDENTIAL in text


def test_the_url_is_stored_with_the_event_in_one_unserved_attribute_only(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # When a Klavi event with a presigned URL is stored
    url = presigned(httpserver.url_for("/kept.bin"))
    event_id = copying.klavi_event(url)

    # Then its item keeps the URL under artifactSources, and nowhere else
    item = item_of(copying, event_id)
    assert item[ARTIFACT_SOURCES_ATTRIBUTE] == {"M": {"0": {"S": url}}}
    assert not leaks({k: v for k, v in item.items() if k != ARTIFACT_SOURCES_ATTRIBUTE})
    # and nothing is written to the bucket for it
    assert copying.object_keys() == []
    # and no index projects it: an index entry never carries it
    for index in schema.INDEXES:
        assert ARTIFACT_SOURCES_ATTRIBUTE not in (
            index.partition_key,
            index.sort_key,
            *index.non_key_attributes,
        )
    # and the event as read carries no trace of it
    assert not leaks(copying.store.get(event_id).model_dump(mode="json"))


FINAL_OUTCOMES: dict[str, tuple[Callable[[HTTPServer], str], ArtifactStatus, bool | None]] = {
    "copied": (lambda s: presigned(s.url_for("/ok.bin")), ArtifactStatus.COPIED, None),
    "expired": (lambda s: presigned(s.url_for("/old.bin")), ArtifactStatus.EXPIRED, None),
    "failed for good": (lambda s: presigned(s.url_for("/gone.bin")), ArtifactStatus.FAILED, False),
}


@pytest.mark.parametrize("outcome", list(FINAL_OUTCOMES))
def test_a_final_outcome_removes_the_url_from_the_item(
    copying: Copying, httpserver: HTTPServer, outcome: str
) -> None:
    # Given an event whose copy ends copied, expired or failed for good (404)
    httpserver.expect_request("/ok.bin").respond_with_data(b"fine")
    httpserver.expect_request("/old.bin").respond_with_data("expired", status=403)
    httpserver.expect_request("/gone.bin").respond_with_data("no", status=404)
    url_of, status, retryable = FINAL_OUTCOMES[outcome]
    event_id = copying.klavi_event(url_of(httpserver))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the outcome is recorded, and the same write removed the URL from the item
    artifact = copying.store.get(event_id).artifacts[0]
    assert (artifact.status, artifact.retryable) == (status, retryable)
    assert not report.needs_retry
    item = item_of(copying, event_id)
    assert ARTIFACT_SOURCES_ATTRIBUTE not in item and not leaks(item)


def test_a_refusal_keeps_the_url_for_a_recopy_once_the_allowlist_admits_it(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a file on a host the hub's configuration does not admit yet (this loopback server, while
    # loopback artifacts are off)
    httpserver.expect_request("/late.bin").respond_with_data(b"late but fine")
    url = presigned(httpserver.url_for("/late.bin"))
    event_id = copying.klavi_event(url)
    refusing = copying.deps(config=hub_config(allow_loopback_artifacts=False))
    # When the copier runs, it is refused, and the item keeps the URL (nowhere else)
    copy_pending_artifacts(event_id, refusing)
    assert copying.store.get(event_id).artifacts[0].status == ArtifactStatus.REFUSED
    assert ARTIFACT_SOURCES_ATTRIBUTE in item_of(copying, event_id)
    assert not leaks(copying.store.get(event_id).model_dump(mode="json"))
    # When the configuration admits the host and the event is recopied
    report = recopy_event(event_id, copying.deps())
    # Then the file is copied, and the URL goes with that outcome
    assert [a.status for a in report.artifacts] == [ArtifactStatus.COPIED]
    assert ARTIFACT_SOURCES_ATTRIBUTE not in item_of(copying, event_id)


def test_a_retryable_failure_keeps_the_url_and_a_recopy_then_copies(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a source that keeps answering 503
    httpserver.expect_request("/busy.bin").respond_with_data("busy", status=503)
    url = presigned(httpserver.url_for("/busy.bin"))
    event_id = copying.klavi_event(url)

    # When the copier runs out of attempts
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is failed (retryable), and the item still keeps the URL for a retry
    assert report.needs_retry
    assert copying.store.get(event_id).artifacts[0].status is ArtifactStatus.FAILED
    assert item_of(copying, event_id)[ARTIFACT_SOURCES_ATTRIBUTE] == {"M": {"0": {"S": url}}}

    # When the source recovers and an operator recopies
    httpserver.clear()
    httpserver.expect_request("/busy.bin").respond_with_data(b"back")
    recopied = recopy_event(event_id, copying.deps())

    # Then it is copied, and the URL is gone
    assert [o.status for o in recopied.artifacts] == [ArtifactStatus.COPIED]
    artifact = copying.store.get(event_id).artifacts[0]
    assert copying.blobs.get(artifact.s3_key) == b"back"
    assert ARTIFACT_SOURCES_ATTRIBUTE not in item_of(copying, event_id)


def test_recopy_of_a_final_outcome_fetches_nothing_and_says_why(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given an artifact whose copy expired (its URL removed with that outcome)
    httpserver.expect_request("/late.bin").respond_with_data("expired", status=403)
    event_id = copying.klavi_event(presigned(httpserver.url_for("/late.bin")))
    copy_pending_artifacts(event_id, copying.deps())
    before = item_of(copying, event_id)

    # When an operator recopies it
    recopied = recopy_event(event_id, copying.deps())

    # Then nothing is fetched, the artifact stays expired, and the report says why
    (outcome,) = recopied.artifacts
    assert outcome.status is ArtifactStatus.EXPIRED
    assert (outcome.reason or "").startswith("not retried: the source URL was dropped")
    assert len(httpserver.log) == 1
    assert item_of(copying, event_id) == before


class Crash(BaseException):
    """Stands for the process being killed between the copy and the write that records it."""


class CrashBeforeRecording(EventStore):
    """A store whose first artifact update is never made: the process dies just before it."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner.table, inner.ddb, inner.blobs)
        self.crashed = False

    def update_artifact(self, *args: Any, **kwargs: Any) -> Artifact | None:
        if not self.crashed:
            self.crashed = True
            raise Crash()
        return super().update_artifact(*args, **kwargs)


def test_a_crash_between_the_copy_and_its_record_loses_nothing(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a copier that dies after the file is in the bucket, before the event records it
    httpserver.expect_request("/twice.bin").respond_with_data(b"the result")
    event_id = copying.klavi_event(presigned(httpserver.url_for("/twice.bin")))
    with pytest.raises(Crash):
        copy_pending_artifacts(event_id, copying.deps(store=CrashBeforeRecording(copying.store)))
    assert copying.store.get(event_id).artifacts[0].status is ArtifactStatus.PENDING
    assert ARTIFACT_SOURCES_ATTRIBUTE in item_of(copying, event_id)  # still there for the retry

    # When the stream retries the record
    copy_pending_artifacts(event_id, copying.deps())

    # Then the file is copied once more into the same key, recorded, and the URL is gone
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.object_keys("artifacts/") == [artifact.s3_key]
    assert copying.blobs.get(artifact.s3_key) == b"the result"
    assert ARTIFACT_SOURCES_ATTRIBUTE not in item_of(copying, event_id)


def two_files(first: str, second: str) -> NewEvent:
    event = CanonicalEvent(
        id="0b8f7f8e-2c7a-5c86-9a5e-6a0f3c1e2d4b",
        tenant_id="acme",
        source="klavi",
        source_event_id="evt-two",
        event_type="analysis.analysis_finished",
        occurred_at="2025-02-26T20:08:17.848000Z",
        received_at="2025-02-26T20:08:20.000000Z",
        actor_type="provider",
        actor_id="klavi-pull",
        channel=Channel.POLL,
        artifacts=[
            Artifact(name="first", source_url=first.split("?")[0]),
            Artifact(name="second", source_url=second.split("?")[0]),
        ],
    )
    return NewEvent(event=event, artifact_urls=[first, second])


def test_each_url_goes_with_its_own_artifacts_outcome(copying: Copying, httpserver: HTTPServer) -> None:
    # Given an event with two files: one that copies, one whose host is down
    httpserver.expect_request("/first.bin").respond_with_data(b"one")
    httpserver.expect_request("/second.bin").respond_with_data("down", status=502)
    second = presigned(httpserver.url_for("/second.bin"))
    new = two_files(presigned(httpserver.url_for("/first.bin")), second)
    copying.store.put(new)

    # When the copier runs
    copy_pending_artifacts(new.event.id, copying.deps())

    # Then the copied file's URL is gone and the failed one's is kept for its retry
    states = [a.status for a in copying.store.get(new.event.id).artifacts]
    assert states == [ArtifactStatus.COPIED, ArtifactStatus.FAILED]
    assert item_of(copying, new.event.id)[ARTIFACT_SOURCES_ATTRIBUTE] == {"M": {"1": {"S": second}}}


def test_stream_images_carrying_the_url_give_bus_entries_without_it(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given the images the table's stream carries for an event, both with the URL kept: its
    # insert, and the modify that records a retryable failure (which ends its pending copies)
    httpserver.expect_request("/f.bin").respond_with_data("busy", status=503)
    event_id = copying.klavi_event(presigned(httpserver.url_for("/f.bin")))
    inserted = item_of(copying, event_id)
    copy_pending_artifacts(event_id, copying.deps())
    failed = item_of(copying, event_id)
    records = [
        {"eventName": "INSERT", "dynamodb": {"NewImage": inserted, "SequenceNumber": "1"}},
        {"eventName": "MODIFY", "dynamodb": {"NewImage": failed, "SequenceNumber": "2"}},
    ]
    assert leaks(inserted) and leaks(failed)

    # When the publisher makes its EventBridge entries of them
    entries = [entry for record in records for entry in entries_of(record, "data-bucket")]

    # Then there is the event's entry and the file's, and neither carries the credentials
    assert [entry.detail_type for entry in entries] == ["analysis.analysis_finished", "artifact.failed"]
    assert not any(leaks(entry.detail) for entry in entries)


def test_an_event_stored_with_a_stashed_url_still_copies(copying: Copying, httpserver: HTTPServer) -> None:
    # Given an event stored before URLs were kept in the item: its artifact names the bucket key
    # its URL was stashed under, and the item keeps no URL
    httpserver.expect_request("/before.bin").respond_with_data(b"from before")
    url = presigned(httpserver.url_for("/before.bin"))
    event_id = copying.klavi_event(url)
    item = item_of(copying, event_id)
    stash = f"artifact-sources/{event_id}/0123456789abcdef0123456789abcdef/0"
    item.pop(ARTIFACT_SOURCES_ATTRIBUTE)
    item["artifacts"]["L"][0]["M"]["sourceKey"] = {"S": stash}
    copying.store.ddb.put_item(TableName=copying.store.table, Item=item)
    copying.blobs.put(stash, url.encode(), "text/plain")

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then the file is copied from the stashed URL, and the stash is deleted
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.blobs.get(artifact.s3_key) == b"from before"
    assert copying.object_keys("artifact-sources/") == []
