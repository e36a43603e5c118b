"""Stream records -> bus entries: one per new event, one per result file when its copies end."""

from __future__ import annotations

import json
from typing import Any

from functions.logic.publishing.entries import entries_of
from functions.models.event import Artifact, ArtifactStatus, CanonicalEvent, Channel
from functions.models.items import to_item
from functions.models.publishing import MAX_ENTRY_BYTES


def event(**changes: Any) -> CanonicalEvent:
    fields: dict[str, Any] = {
        "id": "0b3f6d5e-8d7e-5c1a-9f0e-1a2b3c4d5e6f",
        "tenantId": "acme",
        "source": "klavi",
        "sourceEventId": "1495468585434-0e73d1719173766fe4dfe1a8",
        "eventType": "analysis.analysis_finished",
        "occurredAt": "2026-01-01T00:00:00.000000Z",
        "receivedAt": "2026-01-01T00:00:01.000000Z",
        "actorType": "provider",
        "actorId": "klavi-push",
        "channel": Channel.WEBHOOK,
        "payload": {"batchId": "25872252137"},
    }
    return CanonicalEvent.model_validate({**fields, **changes})


def record(name: str, item: dict[str, Any], sequence: str = "100") -> dict[str, Any]:
    return {"eventName": name, "dynamodb": {"NewImage": item, "SequenceNumber": sequence}}


def test_a_new_event_becomes_one_entry_carrying_the_served_event() -> None:
    # Given the stream record of a stored event
    stored = event()
    item = to_item(stored, payload_text=json.dumps(stored.payload), payload_ref=None)
    # When its entries are built
    (entry,) = entries_of(record("INSERT", item, "42"), "bucket")
    # Then it names its source and type, and carries the event as the API serves it
    detail = json.loads(entry.detail)
    assert (entry.source, entry.detail_type, entry.sequence) == ("eventhub.klavi", stored.event_type, "42")
    assert detail["id"] == stored.id and detail["tenantId"] == "acme"
    assert detail["payload"] == {"batchId": "25872252137"}
    assert (detail["source"], detail["sourceEventId"], detail["channel"]) == (
        "klavi",
        stored.source_event_id,
        "webhook",
    )


def test_a_payload_kept_in_s3_or_too_large_arrives_as_a_pointer_never_cut() -> None:
    # Given an event whose payload the store keeps in S3, and one whose payload is just too large
    in_s3 = to_item(event(), payload_text=None, payload_ref="payloads/acme/x.json")
    big = event(payload={"notes": "x" * MAX_ENTRY_BYTES})
    too_large = to_item(big, payload_text=json.dumps(big.payload), payload_ref=None)
    # When their entries are built
    for item in (in_s3, too_large):
        (entry,) = entries_of(record("INSERT", item), "bucket")
        detail = json.loads(entry.detail)
        # Then the payload is replaced by the API path that serves the whole event
        assert detail["payload"] is None
        assert detail["payloadRef"] == f"/api/v1/events/{detail['id']}"
        assert entry.size <= MAX_ENTRY_BYTES


def test_the_modify_that_ends_the_copies_gives_one_entry_per_result_file() -> None:
    # Given an event whose two files ended copied and expired (pendingArtifacts back to 0)
    files = [
        Artifact(name="result", source_url="https://h/r.json", status=ArtifactStatus.COPIED,
                 s3_key="artifacts/acme/r", size=7, sha256="ab" * 32),
        Artifact(name="extra", source_url="https://h/e.json", status=ArtifactStatus.EXPIRED, reason="403"),
    ]  # fmt: skip
    item = to_item(event(artifacts=files), payload_text="{}", payload_ref=None)
    # When its entries are built
    entries = entries_of(record("MODIFY", item), "the-bucket")
    # Then each file has its entry, with where the copy lies
    assert [(e.source, e.detail_type) for e in entries] == [
        ("eventhub.artifact", "artifact.copied"),
        ("eventhub.artifact", "artifact.expired"),
    ]
    copied = json.loads(entries[0].detail)
    assert (copied["bucket"], copied["key"], copied["size"], copied["sha256"]) == (
        "the-bucket",
        "artifacts/acme/r",
        7,
        "ab" * 32,
    )
    assert json.loads(entries[1].detail)["bucket"] is None


def test_other_records_give_no_entry() -> None:
    # Given a modify with copies still pending, a counter item and a removal
    pending = Artifact(name="result", source_url="https://h/r.json")
    still_copying = to_item(event(artifacts=[pending]), payload_text="{}", payload_ref=None)
    counter = {"id": {"S": "counter#acme#2026-01"}, "kind": {"S": "counter"}}
    # Then none of them is published
    assert entries_of(record("MODIFY", still_copying), "b") == []
    assert entries_of(record("INSERT", counter), "b") == []
    assert entries_of(record("REMOVE", still_copying), "b") == []
