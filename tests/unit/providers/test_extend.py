"""Extend: the SDK's verifier is the oracle for the signature scheme; the mapper follows
PROVIDERS.md and DESIGN.md (ids from eventId, correlation by file or workflow run, signed URLs)."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta

import pytest
from extend_ai.wrapper.webhooks import Webhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.errors import MalformedPayload, SignatureError
from functions.models.config import Provider
from functions.models.event import ArtifactStatus, Channel, event_id_for
from functions.providers import extend
from tests.unit.providers import signing as s

CONNECTION = s.connection(Provider.EXTEND)

# The seed's classify_run.processed delivery, trimmed to the fields the mapper reads and a few it keeps.
CLASSIFY_RUN = {
    "eventId": "evt_Vx8mK2pL9nR4vT7q",
    "eventType": "classify_run.processed",
    "payload": {
        "object": "classify_run",
        "id": "clr_Xj8mK2pL9nR4vT7qY5wZ",
        "status": "PROCESSED",
        "output": {"id": "out_1", "type": "invoice", "confidence": 0.97},
        "file": {"object": "file", "id": "file_xK9mLPqRtN3vS8wF5hB2cQ", "name": "Invoices.pdf"},
        "usage": {"credits": 9},
        "createdAt": "2024-03-21T16:45:00Z",
        "updatedAt": "2024-03-21T16:47:30.250Z",
    },
}
SIGNED_URL = "https://files.extend.ai/payloads/exr_77.json?X-Amz-Signature=abc123&X-Amz-Expires=3600"


def _map(envelope: object, received_at: datetime = s.NOW):
    return extend.map_webhook(envelope, s.delivery({}, b"", received_at), CONNECTION)


# -- signature, against the SDK ----------------------------------------------------------------


def test_sdk_accepts_what_our_test_signer_produces() -> None:
    # Given a delivery signed by the test signer with the wall-clock time (the SDK reads the clock)
    stamp = int(time.time())
    headers = s.extend_headers(s.body_of(CLASSIFY_RUN), timestamp=stamp)
    # Then the SDK verifies it, and so do we
    assert Webhooks().verify(s.body_of(CLASSIFY_RUN), headers, s.EXTEND_SECRET) is True
    extend.verify(s.delivery(headers, s.body_of(CLASSIFY_RUN), datetime.now(UTC)), [s.EXTEND_SECRET])


def test_sdk_rejects_what_our_test_signer_signs_with_another_secret() -> None:
    # Given a delivery the test signer signed with another secret
    headers = s.extend_headers(s.body_of(CLASSIFY_RUN), s.WRONG_SECRET, int(time.time()))
    # When the SDK verifies it with the connection's secret
    # Then it is rejected
    assert Webhooks().verify(s.body_of(CLASSIFY_RUN), headers, s.EXTEND_SECRET) is False


# Deliveries near a real one: the body, secret, timestamp and signature each varied. Offsets
# stay 3 s clear of the window's edges, as the SDK and we read the clock a moment apart.
_offsets = st.integers(-600, 200).filter(lambda o: abs(o + 300) > 3 and abs(o - 60) > 3)
BODIES = [s.body_of(CLASSIFY_RUN), s.body_of(CLASSIFY_RUN) + b" ", b'{"eventId":"x"}']


def _mostly(value: object, *others: object) -> st.SearchStrategy:
    """The value as signed three times in four, else one of the variations."""
    return st.sampled_from([value, value, value, value, value, value, *others])


@st.composite
def _candidates(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    signed_body = draw(st.sampled_from(BODIES))
    body = draw(_mostly(signed_body, *BODIES))
    stamp = int(time.time()) + draw(st.one_of(st.just(0), _offsets))
    secret = draw(_mostly(s.EXTEND_SECRET, s.EXTEND_OLD_SECRET, s.WRONG_SECRET))
    headers = s.extend_headers(signed_body, secret, stamp)
    signature = headers["x-extend-request-signature"]
    headers["x-extend-request-signature"] = draw(
        _mostly(signature, signature.upper(), signature[:-1], signature + "0", "")
    )
    if draw(_mostly(False, True)):
        del headers[draw(st.sampled_from(sorted(headers)))]
    return body, headers


def _ours(body: bytes, headers: dict[str, str]) -> bool:
    try:
        extend.verify(s.delivery(headers, body, datetime.now(UTC)), [s.EXTEND_SECRET])
    except SignatureError:
        return False
    return True


def test_our_verifier_agrees_with_the_sdk() -> None:
    # Given deliveries near a signed one: body, secret, timestamp and signature each varied
    outcomes = {True: 0, False: 0}

    @settings(max_examples=150, deadline=None, database=None)
    @given(_candidates())
    def agree(candidate: tuple[bytes, dict[str, str]]) -> None:
        # When each is verified by the SDK and by our verifier
        body, headers = candidate
        sdk = Webhooks()
        theirs = sdk.verify(body, headers, s.EXTEND_SECRET)
        ours = _ours(body, headers)
        outcomes[ours] += 1
        # Then what the SDK verifies, we verify
        if theirs:
            assert ours
        # And what we verify, the SDK verifies too (we also read the hex signature case-insensitively)
        if ours:
            lowered = {k: v.lower() for k, v in headers.items()}
            assert sdk.verify(body, lowered, s.EXTEND_SECRET)

    agree()
    # And both outcomes were exercised, so the agreement is not vacuous
    print("extend verifier vs SDK, accepted/rejected:", outcomes[True], outcomes[False])
    assert outcomes[True] >= 5 and outcomes[False] >= 5, outcomes


def test_future_timestamp_within_sixty_seconds_is_accepted_and_beyond_is_rejected() -> None:
    # Given a body
    body = s.body_of(CLASSIFY_RUN)
    # When it is signed 59 seconds ahead of the receive time
    # Then it verifies
    extend.verify(s.delivery(s.extend_headers(body, timestamp=s.NOW_TS + 59), body), [s.EXTEND_SECRET])
    # When it is signed 61 seconds ahead
    # Then it is rejected as from the future
    with pytest.raises(SignatureError, match="future"):
        extend.verify(s.delivery(s.extend_headers(body, timestamp=s.NOW_TS + 61), body), [s.EXTEND_SECRET])


def test_signature_is_over_the_raw_bytes_not_a_reserialization() -> None:
    # Given a body with spacing Extend might send, signed as is
    body = b'{ "eventId" : "evt_1",  "eventType": "parse_run.processed", "payload": {} }'
    headers = s.extend_headers(body)
    extend.verify(s.delivery(headers, body), [s.EXTEND_SECRET])
    # Then the same JSON in compact form no longer matches the signature
    with pytest.raises(SignatureError):
        extend.verify(s.delivery(headers, s.compact(body)), [s.EXTEND_SECRET])


# -- mapping -----------------------------------------------------------------------------------


def test_classify_run_maps_to_the_canonical_event() -> None:
    # When the seed's classify_run.processed delivery is mapped
    new = _map(CLASSIFY_RUN)
    event = new.event
    # Then its id is derived from the tenant, the source and Extend's event id
    assert event.id == event_id_for("tenant-a", "extend", "evt_Vx8mK2pL9nR4vT7q")
    # And it keeps Extend's id, the connection's tenant and the type
    assert (event.source, event.source_event_id) == ("extend", "evt_Vx8mK2pL9nR4vT7q")
    assert event.tenant_id == "tenant-a"
    assert event.event_type == "classify_run.processed"
    # And it occurred when the run was last updated, and was received at the receive time
    assert event.occurred_at == "2024-03-21T16:47:30.250000Z"
    assert event.received_at == "2025-02-26T20:08:30.000000Z"
    # And its resource is the run, its correlation the run's file
    assert (event.resource_type, event.resource_id) == ("classify_run", "clr_Xj8mK2pL9nR4vT7qY5wZ")
    assert event.correlation_id == "file_xK9mLPqRtN3vS8wF5hB2cQ"
    # And the provider is the actor, over the webhook channel
    assert (event.actor_type, event.actor_id) == ("provider", "extend-test")
    assert event.channel is Channel.WEBHOOK
    # And the payload is the run, with no artifact
    assert event.payload == CLASSIFY_RUN["payload"]
    assert event.artifacts == [] and new.artifact_urls == []


def test_event_id_is_stable_across_calls_and_redeliveries() -> None:
    # When the same delivery is mapped twice, received minutes apart
    first = _map(CLASSIFY_RUN).event
    again = _map(copy.deepcopy(CLASSIFY_RUN), s.NOW + timedelta(minutes=7)).event
    # Then both have the same id
    assert first.id == again.id
    # And each its own receive time
    assert first.received_at != again.received_at


def test_same_provider_event_in_another_tenant_gets_another_id() -> None:
    # Given the same delivery on a connection of another tenant
    other = s.connection(Provider.EXTEND, tenant="tenant-b")
    # When it is mapped
    theirs = extend.map_webhook(CLASSIFY_RUN, s.delivery({}, b""), other).event
    # Then it belongs to that tenant, with an id of its own
    assert theirs.tenant_id == "tenant-b"
    assert theirs.id != _map(CLASSIFY_RUN).event.id


def test_tenant_comes_from_the_connection_never_the_payload() -> None:
    # Given a delivery that names a tenant in its envelope and in its payload
    envelope = {
        **CLASSIFY_RUN,
        "tenantId": "intruder",
        "payload": {**CLASSIFY_RUN["payload"], "tenantId": "x"},
    }
    # When it is mapped
    # Then it belongs to the connection's tenant
    assert _map(envelope).event.tenant_id == "tenant-a"


def test_workflow_run_events_correlate_by_the_workflow_run() -> None:
    # Given a workflow run's event, whose run also names a file
    envelope = {
        "eventId": "evt_wr_1",
        "eventType": "workflow_run.completed",
        "payload": {"object": "workflow_run", "id": "workflow_run_abc", "file": {"id": "file_1"}},
    }
    # When it is mapped
    event = _map(envelope).event
    # Then its resource and its correlation are the workflow run
    assert (event.resource_type, event.resource_id) == ("workflow_run", "workflow_run_abc")
    assert event.correlation_id == "workflow_run_abc"


def test_step_run_events_correlate_by_their_workflow_run() -> None:
    # Given a step run's event
    envelope = {
        "eventId": "evt_sr_1",
        "eventType": "workflow_run.step_run.processed",
        "payload": {"object": "workflow_step_run", "id": "wsr_1", "workflowRun": {"id": "workflow_run_abc"}},
    }
    # When it is mapped
    # Then it correlates by the workflow run it belongs to
    assert _map(envelope).event.correlation_id == "workflow_run_abc"


def test_occurred_at_is_normalized_to_utc_and_falls_back_to_receipt() -> None:
    # Given a delivery whose run was updated at a time with an offset
    envelope = copy.deepcopy(CLASSIFY_RUN)
    envelope["payload"]["updatedAt"] = "2024-03-21T18:47:30+02:00"
    # When it is mapped
    # Then it occurred at that time in UTC
    assert _map(envelope).event.occurred_at == "2024-03-21T16:47:30.000000Z"
    # When the run has no times
    del envelope["payload"]["updatedAt"], envelope["payload"]["createdAt"]
    # Then it occurred at the receive time
    assert _map(envelope).event.occurred_at == "2025-02-26T20:08:30.000000Z"
    # When its time is not a time
    envelope["payload"]["updatedAt"] = "not a time"
    # Then it occurred at the receive time
    assert _map(envelope).event.occurred_at == "2025-02-26T20:08:30.000000Z"


def test_unknown_event_type_is_mapped_and_kept_whole() -> None:
    # Given an Extend event of a type the hub does not know
    envelope = {
        "eventId": "evt_new",
        "eventType": "summarize_run.processed",
        "payload": {"novel": [1, {"a": 2}]},
    }
    # When it is mapped
    event = _map(envelope).event
    # Then it keeps its type and its whole payload
    assert event.event_type == "summarize_run.processed"
    assert event.payload == {"novel": [1, {"a": 2}]}


def test_signed_data_url_becomes_a_pending_payload_artifact_without_its_query_string() -> None:
    # Given a large-payload delivery: the run is behind a signed URL
    envelope = {
        "eventId": "evt_big",
        "eventType": "extract_run.processed",
        "payload": {
            "object": "signed_data_url",
            "data": SIGNED_URL,
            "id": "exr_77",
            "metadata": {"env": "prod"},
        },
    }
    new = _map(envelope)
    event = new.event
    # Then one pending artifact points at the URL without its credentials...
    [artifact] = event.artifacts
    assert artifact.status is ArtifactStatus.PENDING
    assert artifact.is_payload is True
    assert artifact.source_url == "https://files.extend.ai/payloads/exr_77.json"
    # ...the stored payload carries no query string either...
    assert event.payload["data"] == "https://files.extend.ai/payloads/exr_77.json"
    assert "X-Amz" not in str(event.model_dump())
    assert event.payload["metadata"] == {"env": "prod"}
    # ...and only the copier's list keeps the full URL.
    assert new.artifact_urls == [SIGNED_URL]
    assert (event.resource_type, event.resource_id) == ("extract_run", "exr_77")


def test_mapping_does_not_modify_the_parsed_body() -> None:
    # Given a large-payload delivery behind a signed URL
    envelope = {
        "eventId": "e",
        "eventType": "extract_run.processed",
        "payload": {"object": "signed_data_url", "data": SIGNED_URL, "id": "exr_1"},
    }
    before = copy.deepcopy(envelope)
    # When it is mapped
    _map(envelope)
    # Then the parsed body is left as it was
    assert envelope == before


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        ({"eventType": "extract_run.processed", "payload": {}}, "missing the string field 'eventId'"),
        ({"eventId": "evt_1", "payload": {}}, "missing the string field 'eventType'"),
        ({"eventId": "", "eventType": "x.y", "payload": {}}, "missing the string field 'eventId'"),
        ({"eventId": ["evt"], "eventType": "x.y"}, "missing the string field 'eventId'"),
        ({"eventId": "e", "eventType": "x" * 600}, "'eventType' is longer than 512 bytes"),
        (["not", "an", "object"], "must be a JSON object"),
        ("text", "must be a JSON object"),
    ],
)
def test_missing_or_unusable_required_field_is_malformed(envelope: object, message: str) -> None:
    # When an envelope without a usable event id or type, or not an object, is mapped
    # Then it is malformed, saying what is wrong
    with pytest.raises(MalformedPayload, match=message):
        _map(envelope)


def test_non_object_payload_is_kept() -> None:
    # When a delivery whose payload is not an object is mapped
    event = _map({"eventId": "evt_1", "eventType": "x.y", "payload": [1, 2]}).event
    # Then the payload is kept, under value
    assert event.payload == {"value": [1, 2]}
