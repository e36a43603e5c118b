"""Where an event came from, on every route that serves events (source, sourceEventId, channel,
receivedAt), the lookup by a provider's own id, and the ``source`` filter."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from functions.models.event import CanonicalEvent, Channel, event_id_for, format_timestamp, utcnow
from tests.integration.query.conftest import GLOBEX_KEY, Hub, make_event

EVENTS = "/api/v1/events"
PROVENANCE = ("source", "sourceEventId", "channel", "receivedAt")


def provenance(event: CanonicalEvent) -> dict[str, str]:
    return {
        "source": event.source,
        "sourceEventId": event.source_event_id,
        "channel": event.channel.value,
        "receivedAt": event.received_at,
    }


def served(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: {k: e[k] for k in PROVENANCE} for e in body["events"]}


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


@pytest.fixture
def mixed(hub: Hub, now: datetime) -> list[CanonicalEvent]:
    """A Klavi webhook, an Exa webhook and a VAI poll, received a few seconds after they occurred."""
    common = {"resource_type": "analysis", "resource_id": "batch-1", "correlation_id": "batch-1"}
    events = [
        make_event(
            occurred_at=now - timedelta(minutes=30),
            received_at=now - timedelta(minutes=30) + timedelta(seconds=3),
            source="klavi",
            source_event_id="klv-evt-0001",
            channel=Channel.WEBHOOK,
            event_type="analysis.analysis_finished",
            **common,
        ),
        make_event(
            occurred_at=now - timedelta(minutes=20),
            received_at=now - timedelta(minutes=20) + timedelta(seconds=1),
            source="exa",
            source_event_id="evt_01jexa",
            channel=Channel.WEBHOOK,
            event_type="webset.created",
            **common,
        ),
        make_event(
            occurred_at=now - timedelta(minutes=10),
            received_at=now - timedelta(minutes=9),
            source="vai",
            source_event_id="0f5e0c1a-3f4b-4c1e-9d7a-2b6c8e9f0a11",
            channel=Channel.POLL,
            event_type="schedule.fired",
            **common,
        ),
    ]
    hub.put(*events)
    hub.aggregate()
    return events


def test_every_route_that_serves_events_says_where_each_came_from(
    hub: Hub, mixed: list[CanonicalEvent]
) -> None:
    # Given events of three providers, pushed and pulled
    expected = {e.id: provenance(e) for e in mixed}
    klavi = mixed[0]
    # When each route that answers events is asked
    lists = [
        (EVENTS, {}),
        (EVENTS, {"event_type": "webset.created"}),
        (EVENTS, {"resource_type": "analysis"}),
        (EVENTS, {"resource_id": "batch-1"}),
        (EVENTS, {"source": "klavi"}),
        (EVENTS, {"source": "klavi", "source_event_id": "klv-evt-0001"}),
        (f"{EVENTS}/correlation/batch-1", {}),
        (f"{EVENTS}/resource/analysis/batch-1", {}),
    ]
    for path, params in lists:
        status, body = hub.get(path, params)
        # Then every event carries its source, the provider's id verbatim, its channel and receivedAt
        assert status == 200, (path, params, body)
        assert body["events"], (path, params)
        assert served(body) == {i: expected[i] for i in served(body)}, (path, params)
    status, body = hub.get(f"{EVENTS}/{klavi.id}")
    assert status == 200
    assert {k: body[k] for k in PROVENANCE} == {
        "source": "klavi",
        "sourceEventId": "klv-evt-0001",
        "channel": "webhook",
        "receivedAt": klavi.received_at,
    }
    assert body["receivedAt"] != body["occurredAt"]


def test_a_lookup_by_provider_id_reads_one_item_and_keeps_the_list_shape(
    hub: Hub, mixed: list[CanonicalEvent]
) -> None:
    # Given stored events, and a fresh read meter
    klavi = mixed[0]
    hub.store.meter.reset()
    # When the Klavi event is looked up by Klavi's own id
    status, body = hub.get(EVENTS, {"source": "klavi", "source_event_id": "klv-evt-0001"})
    # Then it is the one event of a list, read with one item by key: no index, no counter
    assert status == 200, body
    assert [e["id"] for e in body["events"]] == [klavi.id] == [event_id_for("acme", "klavi", "klv-evt-0001")]
    assert (body["total"], body["hasNext"], body["nextCursor"], body["offset"]) == (1, False, None, 0)
    assert body["events"][0]["payload"] == klavi.payload
    assert hub.store.meter.by_operation == {"BatchGetItem:events": 1}
    assert hub.store.meter.items == 1


@pytest.mark.parametrize(
    "params",
    [
        {"source": "klavi", "source_event_id": "klv-evt-9999"},  # no such id
        {"source": "exa", "source_event_id": "klv-evt-0001"},  # Klavi's id, another source
        {"source": "no-such-provider", "source_event_id": "klv-evt-0001"},  # a source no connection has
        {"source": "Klavi", "source_event_id": "klv-evt-0001"},  # verbatim: no case folding
    ],
)
def test_a_lookup_that_matches_nothing_is_an_empty_list_for_one_read(
    hub: Hub, mixed: list[CanonicalEvent], params: dict[str, str]
) -> None:
    hub.store.meter.reset()
    status, body = hub.get(EVENTS, params)
    assert status == 200, body
    assert (body["events"], body["total"], body["hasNext"]) == ([], 0, False)
    assert hub.store.meter.items == 1


def test_a_lookup_never_finds_another_tenants_event_with_the_same_provider_id(
    hub: Hub, now: datetime
) -> None:
    # Given acme and globex, each with a Klavi event of the same Klavi id
    acme = make_event(
        "acme", occurred_at=now - timedelta(minutes=5), source="klavi", source_event_id="shared-1"
    )
    globex = make_event(
        "globex", occurred_at=now - timedelta(minutes=4), source="klavi", source_event_id="shared-1"
    )
    only_acme = make_event(
        "acme", occurred_at=now - timedelta(minutes=3), source="klavi", source_event_id="acme-only"
    )
    hub.put(acme, globex, only_acme)
    hub.aggregate()
    wanted = {"source": "klavi", "source_event_id": "shared-1"}
    # When each tenant looks the id up
    _, for_acme = hub.get(EVENTS, wanted)
    _, for_globex = hub.get(EVENTS, wanted, key=GLOBEX_KEY)
    _, absent = hub.get(EVENTS, {"source": "klavi", "source_event_id": "acme-only"}, key=GLOBEX_KEY)
    # Then each finds its own event, and never the other's
    assert acme.id != globex.id
    assert [e["id"] for e in for_acme["events"]] == [acme.id]
    assert [e["id"] for e in for_globex["events"]] == [globex.id]
    assert [e["tenantId"] for e in for_globex["events"]] == ["globex"]
    assert (absent["events"], absent["total"]) == ([], 0)


def test_a_lookup_applies_the_lists_other_filters_to_its_event(hub: Hub, mixed: list[CanonicalEvent]) -> None:
    klavi = mixed[0]
    occurred = klavi.occurred_at
    later = format_timestamp(datetime.fromisoformat(occurred.replace("Z", "+00:00")) + timedelta(seconds=1))
    lookup = {"source": "klavi", "source_event_id": "klv-evt-0001"}
    cases = [
        ({"event_type": "analysis.analysis_finished"}, 1),
        ({"event_type": "webset.created"}, 0),
        ({"resource_type": "analysis", "resource_id": "batch-1"}, 1),
        ({"resource_id": "batch-2"}, 0),
        ({"from": occurred, "to": occurred}, 1),
        ({"from": later}, 0),
    ]
    for extra, total in cases:
        status, body = hub.get(EVENTS, {**lookup, **extra})
        assert status == 200, (extra, body)
        assert (body["total"], len(body["events"])) == (total, total), extra
    # an offset past the one event answers the total with no events
    status, body = hub.get(EVENTS, {**lookup, "offset": 1})
    assert (status, body["events"], body["total"], body["hasNext"]) == (200, [], 1, False)


def test_source_event_id_without_source_is_a_422_that_says_so(hub: Hub, mixed: list[CanonicalEvent]) -> None:
    status, body = hub.get(EVENTS, {"source_event_id": "klv-evt-0001"})
    assert status == 422, body
    (item,) = body["detail"]
    assert item["loc"] == ["query", "source_event_id"]
    assert "needs source" in item["msg"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"event_type": "analysis.analysis_finished"}, "event_type"),
        ({"resource_type": "analysis"}, "resource_type"),
        ({"resource_id": "batch-1"}, "resource_id"),
    ],
)
def test_a_source_list_with_another_filter_is_a_422_that_names_it(
    hub: Hub, mixed: list[CanonicalEvent], extra: dict[str, str], named: str
) -> None:
    status, body = hub.get(EVENTS, {"source": "klavi", **extra})
    assert status == 422, body
    (item,) = body["detail"]
    assert item["loc"] == ["query", "source"]
    assert named in item["msg"] and "from and to" in item["msg"]


@pytest.fixture
def interleaved(hub: Hub, now: datetime) -> list[CanonicalEvent]:
    """20 events a minute apart, newest first: every fourth is Klavi's (5), the rest Exa's."""
    events = [
        make_event(
            occurred_at=now - timedelta(minutes=n + 1),
            source="klavi" if n % 4 == 0 else "exa",
            event_type="analysis.analysis_finished" if n % 4 == 0 else "webset.created",
            channel=Channel.WEBHOOK,
        )
        for n in range(20)
    ]
    hub.put(*events)
    hub.aggregate()
    return events


def test_a_source_list_holds_only_that_sources_events_newest_first_with_an_exact_total(
    hub: Hub, interleaved: list[CanonicalEvent]
) -> None:
    klavi = [e.id for e in interleaved if e.source == "klavi"]
    # When the Klavi list is read two at a time, by cursor
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        status, body = hub.get(EVENTS, {"source": "klavi", "limit": 2, "cursor": cursor})
        assert status == 200, body
        assert body["total"] == 5
        assert {e["source"] for e in body["events"]} == {"klavi"}
        seen += [e["id"] for e in body["events"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    # Then it is Klavi's five events, newest first
    assert seen == klavi
    # And a time range narrows it, its total included
    middle = interleaved[4].occurred_at, interleaved[12].occurred_at
    status, body = hub.get(EVENTS, {"source": "klavi", "from": middle[1], "to": middle[0]})
    assert [e["id"] for e in body["events"]] == klavi[1:4]
    assert body["total"] == 3


def test_a_source_list_reads_the_other_sources_entries_between_its_own(
    hub: Hub, interleaved: list[CanonicalEvent]
) -> None:
    # Given a fresh meter
    hub.store.meter.reset()
    # When the first page of two Klavi events is asked for
    status, body = hub.get(EVENTS, {"source": "klavi", "limit": 2})
    assert status == 200
    # Then the time index was read newest first until a third Klavi entry (for hasNext): at
    # least the entries of positions 0..8, of which 3 are Klavi's (one partition read exactly
    # those); over the day's eight shards, each shard's last request can read past them, up to
    # the 3 matches still wanted, and never more than the day's 20. The page is fetched by id
    reads = hub.store.meter.by_operation
    assert len(body["events"]) == 2 and body["hasNext"]
    assert 9 <= reads["Query:byTime"] <= 20
    assert reads["BatchGetItem:events"] == 2
    # and the total came from counters, a bounded handful of items whatever the volume
    assert 0 < reads["BatchGetItem:counters"] <= 4


def test_an_unknown_source_answers_an_empty_list_without_reading_the_index(
    hub: Hub, interleaved: list[CanonicalEvent]
) -> None:
    hub.store.meter.reset()
    status, body = hub.get(EVENTS, {"source": "no-such-provider"})
    assert (status, body["events"], body["total"], body["hasNext"]) == (200, [], 0, False)
    assert not any(name.startswith("Query:") for name in hub.store.meter.by_operation)


def test_another_tenants_source_list_holds_none_of_these_events(
    hub: Hub, interleaved: list[CanonicalEvent]
) -> None:
    status, body = hub.get(EVENTS, {"source": "klavi"}, key=GLOBEX_KEY)
    assert (status, body["events"], body["total"]) == (200, [], 0)


def test_counters_kept_before_source_was_counted_get_it_from_a_rebuild(
    hub: Hub, interleaved: list[CanonicalEvent]
) -> None:
    from eventhub.local import rebuild_counters

    # Given counter items without their per-source counts (as counted before sources were)
    ddb, table = hub.aws["dynamodb"], hub.aws["table"]
    for item in ddb.scan(TableName=table)["Items"]:
        stale = [name for name in item if name.startswith("src:")]
        if item["kind"]["S"] == "counter" and stale:
            names = {f"#s{n}": name for n, name in enumerate(stale)}
            ddb.update_item(
                TableName=table,
                Key={"id": item["id"]},
                UpdateExpression="REMOVE " + ", ".join(names),
                ExpressionAttributeNames=names,
            )
    _, before = hub.get(EVENTS, {"source": "klavi"})
    # When the counters are rebuilt from the events
    rebuild_counters.rebuild(ddb, table, "acme")
    # Then the source list is whole again, its total exact
    _, after = hub.get(EVENTS, {"source": "klavi"})
    assert (before["total"], before["events"]) == (0, [])
    assert after["total"] == 5
    assert [e["id"] for e in after["events"]] == [e.id for e in interleaved if e.source == "klavi"]
