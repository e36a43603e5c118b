"""Retention: what expires, and when, measured from the moment of the write (never a fixed date)."""

from __future__ import annotations

import time
from typing import Any

from functions.adapters.blob_store import BlobStore
from functions.adapters.counter_items import MARKER_TTL_SECONDS
from functions.adapters.counters import CounterStore
from functions.adapters.event_store import EventStore
from functions.models.event import NewEvent
from functions.table_schema import TTL_ATTRIBUTE
from tests.integration.query.conftest import make_event

DAY = 86_400


def _item(aws: dict[str, Any], item_id: str) -> dict[str, Any]:
    return aws["dynamodb"].get_item(TableName=aws["table"], Key={"id": {"S": item_id}})["Item"]


def test_with_retention_an_event_expires_that_many_days_after_it_is_stored(aws: dict[str, Any]) -> None:
    # Given a store that keeps events 30 days
    store = EventStore(aws["table"], aws["dynamodb"], BlobStore(aws["bucket"], aws["s3"]), retention_days=30)
    event = make_event()
    # When an event is stored
    before = int(time.time())
    store.put(NewEvent(event=event))
    after = int(time.time())
    # Then its TTL is 30 days after the write, whatever the date is
    expires = int(_item(aws, event.id)[TTL_ATTRIBUTE]["N"])
    assert before + 30 * DAY <= expires <= after + 30 * DAY


def test_without_retention_an_event_never_expires(aws: dict[str, Any]) -> None:
    # Given a store with retention off (the default)
    store = EventStore(aws["table"], aws["dynamodb"], BlobStore(aws["bucket"], aws["s3"]))
    event = make_event()
    # When an event is stored
    store.put(NewEvent(event=event))
    # Then the item carries no TTL attribute
    assert TTL_ATTRIBUTE not in _item(aws, event.id)


def test_a_rebuilds_marker_outlives_the_streams_24_hours_and_then_expires(aws: dict[str, Any]) -> None:
    # Given an event a counter rebuild marks as counted now
    store = EventStore(aws["table"], aws["dynamodb"], BlobStore(aws["bucket"], aws["s3"]))
    counters = CounterStore(store)
    event = make_event()
    before = int(time.time())
    counters.mark_counted([event.id])
    after = int(time.time())
    # Then its counted marker expires a week after the write: after any stream redelivery (24 h)
    expires = int(_item(aws, f"counted#{event.id}")[TTL_ATTRIBUTE]["N"])
    assert before + MARKER_TTL_SECONDS <= expires <= after + MARKER_TTL_SECONDS
    assert MARKER_TTL_SECONDS > DAY
    # And the window in which the aggregator looks for markers outlasts the stream too, then expires
    window = _item(aws, "counted#rebuild-window")
    assert before + DAY < int(window["until"]["N"]) == int(window[TTL_ATTRIBUTE]["N"]) <= after + 2 * DAY
