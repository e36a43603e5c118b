"""``make rebuild-counters``: counters recomputed from the events equal the aggregator's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eventhub.local import rebuild_counters
from functions.models.event import format_timestamp
from tests.integration.query.conftest import GLOBEX_KEY, Hub, at, make_event


def counter_items(hub: Hub, tenant: str | None = None) -> dict[str, dict[str, Any]]:
    """Counter items as stored, less their watermarks (how far the aggregator read each shard:
    bookkeeping of the stream, which a rebuild does not read)."""
    items = hub.aws["dynamodb"].scan(TableName=hub.aws["table"])["Items"]
    found = {}
    for item in items:
        if item["kind"]["S"] == "counter" and (tenant is None or item["tenantId"]["S"] == tenant):
            found[item["id"]["S"]] = {
                k: (sorted(v["SS"]) if "SS" in v else v) for k, v in item.items() if not k.startswith("w:")
            }
    return found


def _seed(hub: Hub) -> None:
    hub.put(*(make_event("acme", occurred_at=at(n * 7), actor_id=f"u{n % 3}") for n in range(40)))
    hub.put(*(make_event("globex", occurred_at=at(n * 11), event_type="x.failed") for n in range(10)))
    hub.aggregate()


def _corrupt(hub: Hub, tenant: str) -> None:
    ddb, table = hub.aws["dynamodb"], hub.aws["table"]
    ids = sorted(counter_items(hub, tenant))
    ddb.delete_item(TableName=table, Key={"id": {"S": ids[0]}})
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": ids[1]}},
        UpdateExpression="ADD n :five",
        ExpressionAttributeValues={":five": {"N": "5"}},
    )
    ddb.put_item(
        TableName=table,
        Item={
            "id": {"S": f'counter:["{tenant}","d","1999-01-01"]'},
            "kind": {"S": "counter"},
            "tenantId": {"S": tenant},
            "n": {"N": "7"},
        },
    )


def test_a_rebuild_restores_exactly_what_the_aggregator_counted(hub: Hub) -> None:
    # Given counters kept by the aggregator, then damaged
    _seed(hub)
    expected = counter_items(hub)
    _, aggregate = hub.get("/api/v1/events/aggregate")
    _corrupt(hub, "acme")
    _corrupt(hub, "globex")
    assert counter_items(hub) != expected
    # When they are rebuilt from the events
    events, written = rebuild_counters.rebuild(hub.aws["dynamodb"], hub.aws["table"], None)
    # Then they are the aggregator's again, item for item
    assert (events, written) == (50, len(expected))
    assert counter_items(hub) == expected
    assert hub.get("/api/v1/events/aggregate") == (200, aggregate)


def test_a_tenant_rebuild_touches_only_that_tenant(hub: Hub) -> None:
    # Given both tenants' counters kept by the aggregator, then damaged
    _seed(hub)
    expected = counter_items(hub, "acme")
    _corrupt(hub, "acme")
    _corrupt(hub, "globex")
    damaged = counter_items(hub, "globex")
    # When acme's counters alone are rebuilt
    rebuild_counters.rebuild(hub.aws["dynamodb"], hub.aws["table"], "acme")
    # Then acme's are the aggregator's again
    assert counter_items(hub, "acme") == expected
    # And globex's are left as damaged
    assert counter_items(hub, "globex") == damaged


def test_events_whose_stream_records_are_still_coming_are_not_counted_twice(hub: Hub) -> None:
    # Given events received just now, rebuilt before the aggregator saw their records
    now = format_timestamp(datetime.now(UTC))
    events = [
        make_event("globex", occurred_at=at(n)).model_copy(update={"received_at": now}) for n in range(5)
    ]
    hub.put(*events)
    records = hub.tap.records()
    rebuild_counters.rebuild(hub.aws["dynamodb"], hub.aws["table"], None)
    # When the records arrive
    hub.deliver(records)
    # Then each event counts once
    status, body = hub.get("/api/v1/events/aggregate", key=GLOBEX_KEY)
    assert (status, body["total"]) == (200, 5)


def test_the_command_says_when_there_is_no_stack_to_rebuild(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a directory with no local stack registered
    monkeypatch.chdir(tmp_path)  # no .local/run registration here
    # When the command is asked to rebuild the local stack on a port where none runs
    # Then it fails, saying no local stack runs there
    assert rebuild_counters.main(["--port", "59999"]) == 1
    assert "no local stack is running on port 59999" in capsys.readouterr().err
    # When it is asked to rebuild on AWS without naming the table
    # Then it fails, saying --aws needs --table
    assert rebuild_counters.main(["--aws"]) == 1
    assert "--aws needs --table" in capsys.readouterr().err
