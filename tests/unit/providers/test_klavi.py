"""Klavi: push signatures over the raw body or, failing that, its compact re-serialization;
and the mapping of analysis/monitor events, pulled or pushed, with presigned result URLs."""

from __future__ import annotations

import copy
import json

import pytest

from functions.errors import MalformedPayload, SignatureError
from functions.models.config import Provider
from functions.models.event import ArtifactStatus, Channel, event_id_for
from functions.providers import klavi
from tests.unit.providers import signing as s

CONNECTION = s.connection(Provider.KLAVI)

PRESIGNED = (
    "https://amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE123456789%2F20210621%2Fus-west-2%2Fs3%2Faws4_request"
    "&X-Amz-Date=20210621T041609Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=examble1234494d5fba3fed607f98018e1dfc62e2529ae96d844123456"
)
# The seed's 200 response: one analysis event.
ANALYSIS = {
    "partnerAppId": "12345678",
    "eventId": "1495468585434-0e73d1719173766fe4dfe1a8",
    "eventType": "analysis",
    "eventName": "analysis_finished",
    "eventTime": "2025-02-26T20:08:17.848Z",
    "payload": {"batchId": "25872252137", "presignedUrl": PRESIGNED},
}
MONITOR = {
    "partnerCode": "p-77",
    "eventId": "mon-evt-1",
    "eventType": "monitor",
    "eventName": "monitor_finished",
    "eventTime": "2025-02-26T21:00:00Z",
    "payload": {"monitorId": "mon_42", "resultId": "res_9", "presignedUrl": PRESIGNED},
}


def _verify(headers: dict[str, str], body: bytes, *secrets: str) -> None:
    klavi.verify(s.delivery(headers, body), list(secrets) or [s.KLAVI_SECRET])


# -- signature -----------------------------------------------------------------------------------


def test_signature_over_the_raw_body_verifies() -> None:
    # Given a pretty-printed body signed over its raw bytes
    body = json.dumps(ANALYSIS, indent=2).encode()
    # When it is verified
    # Then it verifies (verify raises on a mismatch)
    _verify(s.klavi_headers(body), body)


def test_signature_over_the_compact_reserialization_verifies() -> None:
    # Given a pretty-printed body with non-ASCII text, signed over its compact form (Klavi's example)
    body = json.dumps({**ANALYSIS, "note": "análise concluída"}, indent=2, ensure_ascii=False).encode()
    headers = s.klavi_headers(body, signed=s.compact(body))
    # Then the fallback finds it
    _verify(headers, body)


def test_tampered_body_fails_both_the_raw_and_the_compact_check() -> None:
    # Given a pretty-printed body signed over its compact form
    body = json.dumps(ANALYSIS, indent=2).encode()
    headers = s.klavi_headers(body, signed=s.compact(body))
    # When one digit of it is changed
    tampered = body.replace(b"25872252137", b"25872252138")
    # Then it is rejected: neither the raw bytes nor their compact form match
    with pytest.raises(SignatureError, match="does not match"):
        _verify(headers, tampered)


def test_other_reserializations_are_not_guessed() -> None:
    # Only the compact form is tried
    # Given a pretty-printed body signed over Python's default spacing
    body = json.dumps(ANALYSIS, indent=2).encode()
    headers = s.klavi_headers(body, signed=json.dumps(ANALYSIS).encode())
    # When it is verified
    # Then it is rejected
    with pytest.raises(SignatureError):
        _verify(headers, body)


def test_non_json_body_is_checked_over_its_raw_bytes_only() -> None:
    # Given a body that is not JSON, signed over its raw bytes
    body = b"\xff\xfe not json"
    # When it is verified
    # Then it verifies
    _verify(s.klavi_headers(body), body)
    # And a signature over other bytes is rejected
    with pytest.raises(SignatureError):
        _verify(s.klavi_headers(b"other"), body)


def _padded(size: int) -> bytes:
    """A pretty-printed Klavi event padded to about ``size`` bytes."""
    padding = "x" * max(0, size - len(json.dumps(ANALYSIS, indent=2)) - 20)
    return json.dumps({**ANALYSIS, "padding": padding}, indent=2).encode()


def test_large_unsigned_body_is_refused_without_being_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 5 MB JSON body whose signature matches neither form, and a spy on the fallback
    body = _padded(5 * 1024 * 1024)
    parsed: list[int] = []
    monkeypatch.setattr(klavi, "_reserialized", lambda raw: parsed.append(len(raw)))

    # When it is verified
    with pytest.raises(SignatureError, match="does not match"):
        _verify(s.klavi_headers(b"something else"), body)

    # Then it was refused over its raw bytes: never parsed nor re-serialized
    assert parsed == []


def test_compact_fallback_is_tried_up_to_the_limit_only() -> None:
    # Given bodies just under and just over the limit, each signed over its compact form
    small, large = _padded(klavi.RESERIALIZE_LIMIT - 64), _padded(klavi.RESERIALIZE_LIMIT + 64)
    assert len(small) <= klavi.RESERIALIZE_LIMIT < len(large)

    # When each is verified, then the small one verifies and the large one is refused
    _verify(s.klavi_headers(small, signed=s.compact(small)), small)
    with pytest.raises(SignatureError, match="does not match"):
        _verify(s.klavi_headers(large, signed=s.compact(large)), large)
    # while a large body signed over its raw bytes verifies as before
    _verify(s.klavi_headers(large), large)


def test_stale_timestamp_is_rejected_although_it_is_not_signed() -> None:
    # Given a body signed an hour ago (Klavi does not sign its timestamp)
    body = s.body_of(ANALYSIS)
    # When it is verified
    # Then it is rejected as too old
    with pytest.raises(SignatureError, match="too old"):
        _verify(s.klavi_headers(body, timestamp=s.NOW_TS - 3600), body)


# -- mapping ---------------------------------------------------------------------------------------


def _map(envelope: object):
    return klavi.map_webhook(envelope, s.delivery({}, b""), CONNECTION)


def test_analysis_event_maps_to_the_canonical_event() -> None:
    # When Klavi's analysis event is mapped
    new = _map(ANALYSIS)
    event = new.event
    # Then its id is derived from the tenant, the source and Klavi's event id
    assert event.id == event_id_for("tenant-a", "klavi", "1495468585434-0e73d1719173766fe4dfe1a8")
    # And it belongs to the connection's tenant
    assert (event.source, event.tenant_id) == ("klavi", "tenant-a")
    # And its type joins Klavi's type and name, and its time is in UTC
    assert event.event_type == "analysis.analysis_finished"
    assert event.occurred_at == "2025-02-26T20:08:17.848000Z"
    # And its resource and correlation are the analysis batch
    assert (event.resource_type, event.resource_id) == ("analysis", "25872252137")
    assert event.correlation_id == "25872252137"
    # And the provider is the actor, over the webhook channel
    assert (event.actor_type, event.actor_id, event.channel) == ("provider", "klavi-test", Channel.WEBHOOK)
    # And the payload is kept
    assert event.payload["partnerAppId"] == "12345678"
    assert event.payload["payload"]["batchId"] == "25872252137"


def test_presigned_url_becomes_a_pending_artifact_without_its_query_string() -> None:
    # When Klavi's analysis event is mapped
    new = _map(ANALYSIS)
    event = new.event
    # Then its presigned URL becomes one pending result artifact, its query string dropped
    [artifact] = event.artifacts
    bare = "https://amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com/key"
    assert (artifact.name, artifact.status, artifact.is_payload) == ("result", ArtifactStatus.PENDING, False)
    assert artifact.source_url == bare
    # And the stored payload holds the URL without its query string, and no credential anywhere
    assert event.payload["payload"]["presignedUrl"] == bare
    assert "X-Amz" not in json.dumps(event.model_dump(mode="json"))
    # And only the copier's list keeps the full URL
    assert new.artifact_urls == [PRESIGNED]


def test_mapping_does_not_modify_the_parsed_body() -> None:
    # Given Klavi's analysis event, parsed
    before = copy.deepcopy(ANALYSIS)
    # When it is mapped
    _map(ANALYSIS)
    # Then the parsed body is left as it was
    assert before == ANALYSIS


def test_monitor_events_are_about_the_monitor() -> None:
    # When Klavi's monitor event is mapped
    event = _map(MONITOR).event
    # Then its type joins Klavi's type and name
    assert event.event_type == "monitor.monitor_finished"
    # And its resource and correlation are the monitor
    assert (event.resource_type, event.resource_id, event.correlation_id) == ("monitor", "mon_42", "mon_42")
    # And the payload is kept
    assert event.payload["partnerCode"] == "p-77"


def test_pulled_events_map_like_pushed_ones_on_the_poll_channel() -> None:
    # When Klavi's event is mapped as polled and as pushed
    polled = klavi.map_event(ANALYSIS, CONNECTION, s.NOW, Channel.POLL).event
    # Then the polled one is on the poll channel
    assert polled.channel is Channel.POLL
    # And both have the same id
    assert polled.id == _map(ANALYSIS).event.id


def test_unknown_event_type_is_mapped_and_kept_whole() -> None:
    # Given a Klavi event of a type the hub does not know
    envelope = {
        "eventId": "x-1",
        "eventType": "consent",
        "eventName": "consent_revoked",
        "payload": {"id": "c_1", "reason": "user"},
    }
    # When it is mapped
    event = _map(envelope).event
    # Then its type joins Klavi's type and name, its resource is the payload's id
    assert event.event_type == "consent.consent_revoked"
    assert (event.resource_type, event.resource_id) == ("consent", "c_1")
    # And its whole envelope is kept
    assert event.payload == envelope


def test_event_without_a_type_is_still_stored() -> None:
    # When a Klavi event with nothing but its id is mapped
    event = _map({"eventId": "x-2"}).event
    # Then it is stored as of unknown type, without artifacts
    assert event.event_type == "unknown"
    assert event.artifacts == []


def test_numeric_ids_become_strings() -> None:
    # Given Klavi's analysis event with numeric event and batch ids
    envelope = copy.deepcopy(ANALYSIS)
    envelope["eventId"] = 1495468585434
    envelope["payload"]["batchId"] = 25872252137
    # When it is mapped
    event = _map(envelope).event
    # Then the ids are kept as text
    assert event.source_event_id == "1495468585434"
    assert event.resource_id == "25872252137"


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        (
            {k: v for k, v in ANALYSIS.items() if k != "eventId"},
            "Klavi event is missing the string field 'eventId'",
        ),
        ({**ANALYSIS, "eventId": True}, "missing the string field 'eventId'"),
        ({**ANALYSIS, "eventId": "9" * 513}, "'eventId' is longer than 512 bytes"),
        ("analysis", "Klavi event must be a JSON object"),
    ],
)
def test_missing_required_field_is_malformed(envelope: object, message: str) -> None:
    # When a Klavi envelope without a usable event id, or not an object, is mapped
    # Then it is malformed, saying what is wrong
    with pytest.raises(MalformedPayload, match=message):
        _map(envelope)
