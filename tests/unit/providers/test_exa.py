"""Exa Websets: ``Exa-Signature: t=..,v1=..[,v1=..]`` (scheme written in signing.py from the docs,
as Exa ships no verifier), and the mapping of its events (webhook bodies and events-API items)."""

from __future__ import annotations

import copy

import pytest

from functions.errors import MalformedPayload, SignatureError
from functions.models.config import Provider
from functions.models.event import Channel, event_id_for
from functions.providers import exa
from tests.unit.providers import signing as s

CONNECTION = s.connection(Provider.EXA)

WEBSET_CREATED = {
    "id": "ev_01JQ8Z1",
    "object": "event",
    "type": "webset.created",
    "data": {"id": "ws_7Hk2", "object": "webset", "status": "idle", "createdAt": "2023-11-07T05:31:56Z"},
    "createdAt": "2023-11-07T05:31:56Z",
}
ITEM_ENRICHED = {
    "id": "ev_01JQ8Z2",
    "object": "event",
    "type": "webset.item.enriched",
    "data": {"id": "witem_9", "object": "webset_item", "websetId": "ws_7Hk2"},
    "createdAt": "2023-11-07T06:00:00.5+01:00",
}
BODY = s.body_of(WEBSET_CREATED)


def _verify(header: str, body: bytes = BODY, *secrets: str) -> None:
    exa.verify(s.delivery({"Exa-Signature": header}, body), list(secrets) or [s.EXA_SECRET])


def _good(body: bytes = BODY, secret: str = s.EXA_SECRET) -> str:
    return s.exa_signature(body, secret, s.NOW_TS)


# -- signature -----------------------------------------------------------------------------------


def test_any_matching_v1_entry_verifies() -> None:
    # Given a header with several v1 entries, one of which is right, in any position
    bad = "0" * 64
    _verify(f"t={s.NOW_TS},v1={bad},v1={_good()}")
    _verify(f"t={s.NOW_TS},v1={_good()},v1={bad}")
    _verify(f"v1={bad},v1={_good()},t={s.NOW_TS}")


def test_no_matching_v1_entry_is_rejected() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        _verify(f"t={s.NOW_TS},v1={'0' * 64},v1={_good(secret=s.WRONG_SECRET)}")


def test_signatures_for_old_and_new_secrets_in_one_header_verify_against_either() -> None:
    # Exa signs with every active secret while a secret rotates
    header = s.exa_headers(BODY, s.EXA_OLD_SECRET, s.EXA_SECRET)["Exa-Signature"]
    _verify(header, BODY, s.EXA_SECRET)
    _verify(header, BODY, s.EXA_OLD_SECRET)
    with pytest.raises(SignatureError):
        _verify(header, BODY, s.WRONG_SECRET)


def test_signature_binds_the_timestamp() -> None:
    # Given a valid signature moved to another (still fresh) timestamp
    with pytest.raises(SignatureError, match="does not match"):
        _verify(f"t={s.NOW_TS - 1},v1={_good()}")


def test_spaces_around_entries_are_tolerated() -> None:
    _verify(f"t={s.NOW_TS}, v1={_good()}")


def test_uppercase_hex_signature_verifies() -> None:
    _verify(f"t={s.NOW_TS},v1={_good().upper()}")


def test_other_scheme_versions_are_ignored() -> None:
    with pytest.raises(SignatureError, match="needs t= and v1="):
        _verify(f"t={s.NOW_TS},v0={_good()}")


# -- mapping ---------------------------------------------------------------------------------------


def _map(envelope: object):
    return exa.map_webhook(envelope, s.delivery({}, b""), CONNECTION)


def test_webset_created_maps_to_the_canonical_event() -> None:
    new = _map(WEBSET_CREATED)
    event = new.event
    assert event.id == event_id_for("tenant-a", "exa", "ev_01JQ8Z1")
    assert (event.source, event.source_event_id, event.tenant_id) == ("exa", "ev_01JQ8Z1", "tenant-a")
    assert event.event_type == "webset.created"
    assert event.occurred_at == "2023-11-07T05:31:56.000000Z"
    assert (event.resource_type, event.resource_id) == ("webset", "ws_7Hk2")
    assert event.correlation_id == "ws_7Hk2"
    assert (event.actor_type, event.actor_id, event.channel) == ("provider", "exa-test", Channel.WEBHOOK)
    assert event.payload == WEBSET_CREATED
    assert new.artifact_urls == [] and event.artifacts == []


def test_events_about_a_websets_parts_correlate_by_the_webset() -> None:
    event = _map(ITEM_ENRICHED).event
    assert (event.resource_type, event.resource_id) == ("webset_item", "witem_9")
    assert event.correlation_id == "ws_7Hk2"
    assert event.occurred_at == "2023-11-07T05:00:00.500000Z"


def test_events_api_items_map_like_webhooks_but_on_the_poll_channel() -> None:
    polled = exa.map_event(WEBSET_CREATED, CONNECTION, s.NOW, Channel.POLL).event
    pushed = _map(WEBSET_CREATED).event
    assert polled.channel is Channel.POLL
    assert polled.id == pushed.id


def test_id_is_stable_across_calls() -> None:
    assert _map(WEBSET_CREATED).event.id == _map(copy.deepcopy(WEBSET_CREATED)).event.id


def test_unknown_event_type_is_mapped_and_kept_whole() -> None:
    envelope = {"id": "ev_x", "type": "webset.export.archived", "data": {"id": "exp_1", "extra": [1]}}
    event = _map(envelope).event
    assert event.event_type == "webset.export.archived"
    assert event.payload == envelope
    assert event.correlation_id == "exp_1"


def test_missing_created_at_falls_back_to_the_receive_time() -> None:
    envelope = {k: v for k, v in WEBSET_CREATED.items() if k != "createdAt"}
    assert _map(envelope).event.occurred_at == "2025-02-26T20:08:30.000000Z"


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        ({"type": "webset.created", "data": {}}, "Exa event is missing the string field 'id'"),
        ({"id": "ev_1", "data": {}}, "Exa event is missing the string field 'type'"),
        ({"id": None, "type": "webset.created"}, "missing the string field 'id'"),
        ([WEBSET_CREATED], "Exa event must be a JSON object"),
    ],
)
def test_missing_required_field_is_malformed(envelope: object, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        _map(envelope)


def test_data_that_is_not_an_object_leaves_resource_unset() -> None:
    event = _map({"id": "ev_1", "type": "webset.deleted", "data": "ws_1"}).event
    assert (event.resource_type, event.resource_id, event.correlation_id) == (None, None, None)
    assert event.payload["data"] == "ws_1"
