"""A duplicate delivery changes nothing: not the item, not the bucket, not what the copier fetches."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pytest_httpserver import HTTPServer

from functions.adapters.event_store import EventStore
from functions.logic.copying.run import copy_pending_artifacts, recopy_event
from functions.models.event import ArtifactStatus, Channel, NewEvent
from functions.models.store import PutOutcome
from functions.providers import klavi
from tests.integration.artifacts.conftest import KLAVI, RECEIVED, Copying, presigned


def klavi_delivery(url: str, event_id: str = "evt-dup") -> NewEvent:
    envelope = {
        "partnerAppId": "app-1",
        "eventId": event_id,
        "eventType": "analysis",
        "eventName": "analysis_finished",
        "eventTime": "2025-02-26T20:08:17.848Z",
        "payload": {"batchId": "batch-7", "presignedUrl": url},
    }
    return klavi.map_event(envelope, KLAVI, RECEIVED, Channel.WEBHOOK)


def everything(copying: Copying) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """The whole bucket (key -> bytes) and the whole table, to compare before and after."""
    objects = {key: copying.blobs.get(key) for key in copying.object_keys()}
    ddb = copying.store.ddb
    items = ddb.scan(TableName=copying.store.table, ConsistentRead=True)["Items"]
    return objects, sorted(items, key=lambda item: item["id"]["S"])


def test_duplicate_with_another_url_changes_nothing_and_the_copy_fetches_the_first_url(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a stored Klavi event whose presigned URL serves its result file
    httpserver.expect_request("/first.bin").respond_with_data(b"first result")
    httpserver.expect_request("/second.bin").respond_with_data(b"a file the duplicate points at")
    first = copying.store.put(klavi_delivery(presigned(httpserver.url_for("/first.bin"))))
    before = everything(copying)

    # When the same event is delivered again with another presigned URL
    again = copying.store.put(klavi_delivery(presigned(httpserver.url_for("/second.bin"))))

    # Then it is a duplicate, and the bucket and the table are exactly as they were
    assert (first.outcome, again.outcome) == (PutOutcome.NEW, PutOutcome.DUPLICATE)
    assert everything(copying) == before
    # and the copy fetches the first URL, the one the stored event was accepted with
    copy_pending_artifacts(first.event_id, copying.deps())
    artifact = copying.store.get(first.event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.blobs.get(artifact.s3_key) == b"first result"
    assert [entry[0].path for entry in httpserver.log] == ["/first.bin"]


def test_duplicate_of_a_copied_event_leaves_no_credentialed_url_behind(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a Klavi event whose result file has been copied (its kept URL removed)
    httpserver.expect_request("/done.bin").respond_with_data(b"done")
    url = presigned(httpserver.url_for("/done.bin"))
    stored = copying.store.put(klavi_delivery(url))
    copy_pending_artifacts(stored.event_id, copying.deps())
    assert copying.object_keys("artifact-sources/") == []
    before = everything(copying)

    # When Klavi resends the event, and an operator then asks for a recopy
    again = copying.store.put(klavi_delivery(url))
    recopied = recopy_event(stored.event_id, copying.deps())

    # Then nothing changed: no URL is kept again, and nothing is fetched again
    assert again.duplicate
    assert everything(copying) == before
    assert not any("artifactSources" in item for item in before[1])
    assert copying.object_keys("artifact-sources/") == []
    assert recopied.artifacts == [] and len(httpserver.log) == 1


class LostAnswer:
    """A DynamoDB client whose put is written but answered as a failed condition, as when the
    answer to the first try is lost and the SDK's retry finds the item the first try wrote."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def put_item(self, **params: Any) -> Any:
        self.inner.put_item(**params)
        error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "exists"}}
        raise ClientError(error, "PutItem")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_write_that_finds_its_own_item_keeps_the_url_that_item_names(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given a store whose put is written, then answered as a duplicate (its own retry)
    httpserver.expect_request("/own.bin").respond_with_data(b"own")
    lossy = EventStore(copying.store.table, LostAnswer(copying.store.ddb), copying.blobs)

    # When an event is put through it, then copied
    result = lossy.put(klavi_delivery(presigned(httpserver.url_for("/own.bin"))))
    copy_pending_artifacts(result.event_id, copying.deps())

    # Then the URL the item names was kept, and the copy succeeds
    artifact = copying.store.get(result.event_id).artifacts[0]
    assert result.duplicate
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.blobs.get(artifact.s3_key) == b"own"


def test_event_stored_with_the_legacy_url_key_is_still_copied(
    copying: Copying, httpserver: HTTPServer
) -> None:
    # Given an event stored before URL keys were per write: its item names no key and keeps no
    # URL, the URL is kept under artifact-sources/{id}/{n}
    httpserver.expect_request("/legacy.bin").respond_with_data(b"legacy")
    url = presigned(httpserver.url_for("/legacy.bin"))
    result = copying.store.put(klavi_delivery(url))
    item_key = {"id": {"S": result.event_id}}
    ddb, table = copying.store.ddb, copying.store.table
    item = ddb.get_item(TableName=table, Key=item_key, ConsistentRead=True)["Item"]
    item["artifacts"]["L"][0]["M"].pop("sourceKey", None)
    item.pop("artifactSources")
    ddb.put_item(TableName=table, Item=item)
    for key in copying.object_keys("artifact-sources/"):
        copying.blobs.delete(key)
    copying.blobs.put(f"artifact-sources/{result.event_id}/0", url.encode(), "text/plain")

    # When the copier runs
    copy_pending_artifacts(result.event_id, copying.deps())

    # Then the file is copied and the legacy key is gone
    artifact = copying.store.get(result.event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert copying.object_keys("artifact-sources/") == []
