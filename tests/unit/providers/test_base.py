"""What every provider shares: header access, the replay window, field helpers; and VAI's mapper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.errors import MalformedPayload, SignatureError
from functions.models.config import Connection, PollConfig, Provider
from functions.models.event import Channel, event_id_for
from functions.providers import vai
from functions.providers.base import (
    MAX_ID_BYTES,
    Delivery,
    check_timestamp,
    optional_str,
    require_str,
    timestamp_or,
)
from tests.unit.providers import signing as s


@pytest.mark.parametrize(
    "value", ["²", "١٧٤٠٦٠٠٥١٠", "1740600510 ", "+1740600510", "-5", "0x10", "", "1" * 13]
)
def test_timestamp_that_is_not_ascii_unix_seconds_is_a_signature_error(value: str) -> None:
    # When a timestamp header that is not plain ASCII unix seconds is checked
    # Then it is a signature error
    with pytest.raises(SignatureError, match="not unix seconds"):
        check_timestamp(value, s.NOW)


def test_timestamp_inside_the_window_is_returned() -> None:
    # When a timestamp inside the replay window is checked
    # Then its seconds are returned
    assert check_timestamp(str(s.NOW_TS - 10), s.NOW) == s.NOW_TS - 10


def test_header_lookup_tries_names_in_order_and_strips_whitespace() -> None:
    # Given a delivery with two id headers, one padded with spaces
    delivery = s.delivery({"svix-id": " b ", "webhook-id": "a"}, b"")
    # When a header is looked up by several names
    # Then the first name present wins, its value stripped
    assert delivery.header("webhook-id", "svix-id") == "a"
    assert delivery.header("svix-id", "webhook-id") == "b"
    # And a header not present is None
    assert delivery.header("nope") is None


def test_header_holding_a_lone_surrogate_is_a_signature_error() -> None:
    # Given a delivery whose header holds a lone surrogate
    delivery = Delivery(headers={"webhook-id": "msg_\udc80"}, body=b"", received_at=s.NOW)
    # When the header is read
    # Then it is a signature error: not valid text
    with pytest.raises(SignatureError, match="not valid text"):
        delivery.header("webhook-id")


def test_identifiers_longer_than_an_index_key_allows_are_refused_or_left_out() -> None:
    # Given an identifier one character longer than an index key allows (2,048 bytes; "é" is two bytes)
    long_id = "é" * (MAX_ID_BYTES // 2 + 1)
    # When it is required
    # Then it is refused as malformed
    with pytest.raises(MalformedPayload, match="longer than"):
        require_str({"id": long_id}, "id", "event")
    # When it is optional
    # Then it is left out
    assert optional_str({"id": long_id}, "id") is None
    # And an identifier exactly at the limit is kept
    assert optional_str({"id": "é" * (MAX_ID_BYTES // 2)}, "id") == "é" * (MAX_ID_BYTES // 2)


def test_optional_identifiers_accept_integers_but_not_floats_or_booleans() -> None:
    # When optional identifiers are read
    # Then an integer is kept as text
    assert optional_str({"id": 42}, "id") == "42"
    # And a float, a boolean, or a document that is not an object gives none
    assert optional_str({"id": 4.2}, "id") is None
    assert optional_str({"id": True}, "id") is None
    assert optional_str(["id"], "id") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-02-26T20:08:17.848Z", "2025-02-26T20:08:17.848000Z"),
        ("2025-02-26T22:08:17+02:00", "2025-02-26T20:08:17.000000Z"),
        ("2025-02-26T20:08:17", "2025-02-26T20:08:17.000000Z"),
        (1_740_600_497, "2025-02-26T20:08:17.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("0001-01-01T00:00:00+01:00", "2025-02-26T20:08:30.000000Z"),  # before year 1 in UTC
        (10**20, "2025-02-26T20:08:30.000000Z"),
        ("yesterday", "2025-02-26T20:08:30.000000Z"),
        (None, "2025-02-26T20:08:30.000000Z"),
        (True, "2025-02-26T20:08:30.000000Z"),
    ],
)
def test_provider_times_are_normalized_or_replaced_by_the_receive_time(value: object, expected: str) -> None:
    # When a provider's time is normalized against the receive time
    # Then a valid time becomes UTC with microseconds, and anything else the receive time
    assert timestamp_or(value, s.NOW) == expected


# -- VAI (pulled) -------------------------------------------------------------------------------

VAI = Connection(
    id="vai-pull",
    provider=Provider.VAI,
    tenant_id="tenant-v",
    poll=PollConfig(base_url="https://vai.example", api_key="vai-test-key-000"),
)
VAI_EVENT = {
    "id": "6a1f0f9e-0d7c-4e33-9a51-3c2b1a0f9e77",
    "tenantId": "their-tenant",
    "eventType": "schedule.fired",
    "occurredAt": "2025-02-26T20:00:00Z",
    "actorType": "automation",
    "actorId": "auto_1",
    "resourceType": "automation",
    "resourceId": "0b7e6c1a-6a57-4b8e-9a0f-4f7f3b1e2d11",
    "correlationId": "corr_1",
    "causationId": "cause_1",
    "payload": {"runId": "r1"},
}


def test_vai_event_keeps_its_own_fields_but_takes_the_connections_tenant() -> None:
    # When a VAI event is mapped for its connection
    event = vai.map_event(VAI_EVENT, VAI, s.NOW).event
    # Then its id is derived from the connection's tenant and VAI's id
    assert event.id == event_id_for("tenant-v", "vai", VAI_EVENT["id"])
    # And it takes the connection's tenant, not its own
    assert event.tenant_id == "tenant-v"
    # And keeps its own type, time, actor, resource, correlation, causation and payload
    assert (event.event_type, event.occurred_at) == ("schedule.fired", "2025-02-26T20:00:00.000000Z")
    assert (event.actor_type, event.actor_id) == ("automation", "auto_1")
    assert (event.resource_type, event.resource_id) == ("automation", VAI_EVENT["resourceId"])
    assert (event.correlation_id, event.causation_id) == ("corr_1", "cause_1")
    # And it arrived by polling
    assert event.channel is Channel.POLL
    assert event.payload == {"runId": "r1"}
    # And mapped again later, it has the same id
    assert vai.map_event(dict(VAI_EVENT), VAI, s.NOW + timedelta(hours=1)).event.id == event.id


@pytest.mark.parametrize("field", ["id", "eventType", "occurredAt"])
def test_vai_event_without_a_required_field_is_malformed(field: str) -> None:
    # Given a VAI event without one of its required fields
    envelope = {k: v for k, v in VAI_EVENT.items() if k != field}
    # When it is mapped
    # Then it is malformed, naming the field
    with pytest.raises(MalformedPayload, match=f"VAI event is missing the string field '{field}'"):
        vai.map_event(envelope, VAI, datetime.now(UTC))
