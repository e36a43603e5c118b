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
    # When each is verified
    # Then each verifies (verify raises on a mismatch)
    _verify(f"t={s.NOW_TS},v1={bad},v1={_good()}")
    _verify(f"t={s.NOW_TS},v1={_good()},v1={bad}")
    _verify(f"v1={bad},v1={_good()},t={s.NOW_TS}")


def test_no_matching_v1_entry_is_rejected() -> None:
    # Given a header whose v1 entries are a wrong value and a signature with another secret
    # When it is verified
    # Then it is rejected: nothing matches
    with pytest.raises(SignatureError, match="does not match"):
        _verify(f"t={s.NOW_TS},v1={'0' * 64},v1={_good(secret=s.WRONG_SECRET)}")


def test_signatures_for_old_and_new_secrets_in_one_header_verify_against_either() -> None:
    # Given a header signed with the old and the new secret, as Exa signs while a secret rotates
    header = s.exa_headers(BODY, s.EXA_OLD_SECRET, s.EXA_SECRET)["Exa-Signature"]
    # When it is verified against either secret
    # Then it verifies
    _verify(header, BODY, s.EXA_SECRET)
    _verify(header, BODY, s.EXA_OLD_SECRET)
    # And it is rejected against a secret it was not signed with
    with pytest.raises(SignatureError):
        _verify(header, BODY, s.WRONG_SECRET)


def test_signature_binds_the_timestamp() -> None:
    # Given a valid signature moved to another (still fresh) timestamp
    # When it is verified
    # Then it is rejected: the timestamp is part of what is signed
    with pytest.raises(SignatureError, match="does not match"):
        _verify(f"t={s.NOW_TS - 1},v1={_good()}")


def test_spaces_around_entries_are_tolerated() -> None:
    # When a header with a space after its comma is verified
    # Then it verifies
    _verify(f"t={s.NOW_TS}, v1={_good()}")


def test_uppercase_hex_signature_verifies() -> None:
    # When a header whose signature is upper-case hex is verified
    # Then it verifies
    _verify(f"t={s.NOW_TS},v1={_good().upper()}")


def test_other_scheme_versions_are_ignored() -> None:
    # Given a header whose only signature is of another scheme version (v0)
    # When it is verified
    # Then it is rejected for want of t= and v1=
    with pytest.raises(SignatureError, match="needs t= and v1="):
        _verify(f"t={s.NOW_TS},v0={_good()}")


# -- mapping ---------------------------------------------------------------------------------------


def _map(envelope: object):
    return exa.map_webhook(envelope, s.delivery({}, b""), CONNECTION)


def test_webset_created_maps_to_the_canonical_event() -> None:
    # When Exa's webset.created webhook is mapped
    new = _map(WEBSET_CREATED)
    event = new.event
    # Then its id is derived from the tenant, the source and Exa's event id
    assert event.id == event_id_for("tenant-a", "exa", "ev_01JQ8Z1")
    # And it keeps Exa's id, the connection's tenant, the type and the time in UTC
    assert (event.source, event.source_event_id, event.tenant_id) == ("exa", "ev_01JQ8Z1", "tenant-a")
    assert event.event_type == "webset.created"
    assert event.occurred_at == "2023-11-07T05:31:56.000000Z"
    # And its resource and correlation are the webset
    assert (event.resource_type, event.resource_id) == ("webset", "ws_7Hk2")
    assert event.correlation_id == "ws_7Hk2"
    # And the provider is the actor, over the webhook channel
    assert (event.actor_type, event.actor_id, event.channel) == ("provider", "exa-test", Channel.WEBHOOK)
    # And the payload is the whole envelope, with no artifact
    assert event.payload == WEBSET_CREATED
    assert new.artifact_urls == [] and event.artifacts == []


def test_events_about_a_websets_parts_correlate_by_the_webset() -> None:
    # When an event about a webset's item is mapped
    event = _map(ITEM_ENRICHED).event
    # Then its resource is the item, its correlation the item's webset
    assert (event.resource_type, event.resource_id) == ("webset_item", "witem_9")
    assert event.correlation_id == "ws_7Hk2"
    # And its time, given with an offset, is in UTC
    assert event.occurred_at == "2023-11-07T05:00:00.500000Z"


def test_events_api_items_map_like_webhooks_but_on_the_poll_channel() -> None:
    # When Exa's event is mapped as polled from the events API and as pushed by webhook
    polled = exa.map_event(WEBSET_CREATED, CONNECTION, s.NOW, Channel.POLL).event
    pushed = _map(WEBSET_CREATED).event
    # Then the polled one is on the poll channel
    assert polled.channel is Channel.POLL
    # And both have the same id
    assert polled.id == pushed.id


def test_id_is_stable_across_calls() -> None:
    # When the same envelope is mapped twice
    # Then both events have the same id
    assert _map(WEBSET_CREATED).event.id == _map(copy.deepcopy(WEBSET_CREATED)).event.id


def test_unknown_event_type_is_mapped_and_kept_whole() -> None:
    # Given an Exa event of a type the hub does not know
    envelope = {"id": "ev_x", "type": "webset.export.archived", "data": {"id": "exp_1", "extra": [1]}}
    # When it is mapped
    event = _map(envelope).event
    # Then it keeps its type and its whole envelope
    assert event.event_type == "webset.export.archived"
    assert event.payload == envelope
    # And correlates by its data's id
    assert event.correlation_id == "exp_1"


def test_missing_created_at_falls_back_to_the_receive_time() -> None:
    # Given an Exa event without createdAt
    envelope = {k: v for k, v in WEBSET_CREATED.items() if k != "createdAt"}
    # When it is mapped
    # Then it occurred at the receive time
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
    # When an Exa envelope without its id or type, or not an object, is mapped
    # Then it is malformed, saying what is missing
    with pytest.raises(MalformedPayload, match=message):
        _map(envelope)


def test_data_that_is_not_an_object_leaves_resource_unset() -> None:
    # When an Exa event whose data is not an object is mapped
    event = _map({"id": "ev_1", "type": "webset.deleted", "data": "ws_1"}).event
    # Then it has no resource and no correlation
    assert (event.resource_type, event.resource_id, event.correlation_id) == (None, None, None)
    # And the data is kept in the payload
    assert event.payload["data"] == "ws_1"
