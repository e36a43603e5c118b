"""`eventhub republish` against the local stack: stored events reach a rule's SQS queue again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import LOCAL_CONFIG
from tests.support.bus_queue import attach_queue, drain
from tests.unit.test_cli_local_stack import run

# Fixed times around a day boundary: the window crosses two byTime partitions.
BASE = datetime(2024, 3, 10, 22, 0, tzinfo=UTC)


def _event(n: int, tenant: str, event_type: str, at: datetime) -> Any:
    from functions.models.event import CanonicalEvent, Channel, event_id_for, format_timestamp

    return CanonicalEvent(
        id=event_id_for(tenant, "exa", f"evt_republish_{n}"),
        tenant_id=tenant,
        source="exa",
        source_event_id=f"evt_republish_{n}",
        event_type=event_type,
        occurred_at=format_timestamp(at),
        received_at=format_timestamp(at),
        resource_type="webset",
        resource_id=f"ws_{n}",
        correlation_id=f"ws_{n}",
        actor_type="provider",
        actor_id="exa-dev",
        channel=Channel.WEBHOOK,
        payload={"n": n},
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    # A stack whose stream nobody reads: only republish puts entries on the bus
    from eventhub.local.scheduler import Registration
    from eventhub.local.stack import LocalStack
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_store import EventStore
    from functions.models.event import NewEvent

    with LocalStack(LOCAL_CONFIG, services=[Registration()]) as running:
        store = EventStore(
            running.resources["table"],
            running.client("dynamodb"),
            BlobStore(running.resources["bucket"], running.client("s3")),
        )
        types = ("webset.created", "webset.item.created")
        events = [_event(n, "acme", types[n % 2], BASE + timedelta(minutes=30 * n)) for n in range(8)]
        events += [
            _event(50 + n, "globex", "webset.created", BASE + timedelta(minutes=45 * n)) for n in range(3)
        ]
        for event in events:
            store.put(NewEvent(event=event))
        running.seeded = events
        yield running


def _after(occurred_at: str) -> str:
    """A moment just after an event's time: a half-open window's end that includes it."""
    moment = datetime.fromisoformat(occurred_at.replace("Z", "+00:00")) + timedelta(milliseconds=1)
    return moment.isoformat()


def _window(events: list[Any]) -> tuple[str, str]:
    """From the first event's time to just after the second-to-last one's: the last is left out."""
    times = sorted(e.occurred_at for e in events)
    return times[0], _after(times[-2])


def test_republish_puts_a_tenants_window_on_the_bus(stack: Any) -> None:
    # Given acme's events over two days, and a queue behind a rule on the bus
    url = attach_queue(stack, "republish-tenant")
    acme = sorted((e for e in stack.seeded if e.tenant_id == "acme"), key=lambda e: e.occurred_at)
    start, end = _window(acme)

    # When acme's window (all but its last event) is republished
    done = run(stack, "republish", "--from", start, "--to", end, "--tenant", "acme")

    # Then the queue receives exactly those events, as the publisher's entries
    assert done.exit_code == 0, done.stderr
    received = drain(stack, url)
    assert sorted(m["detail"]["id"] for m in received) == sorted(e.id for e in acme[:-1])
    assert {m["source"] for m in received} == {"eventhub.exa"}
    assert all(m["detail"]["tenantId"] == "acme" and m["detail"]["payload"] for m in received)
    assert all(m["detail-type"] == m["detail"]["eventType"] for m in received)
    # And the summary says so
    assert f"{len(acme) - 1} entries put, {len(acme) - 1} billed events, 0 failed" in done.stdout


def test_republish_honours_the_type_and_covers_every_tenant_without_one(stack: Any) -> None:
    # Given every tenant's events and a fresh queue behind a rule on the bus
    url = attach_queue(stack, "republish-type")
    times = sorted(e.occurred_at for e in stack.seeded)

    # When the whole span is republished for one event type, without --tenant
    done = run(stack, "republish", "--from", times[0], "--to", _after(times[-1]), "--type", "webset.created")

    # Then the queue receives every tenant's events of that type, and no other
    assert done.exit_code == 0, done.stderr
    expected = {e.id for e in stack.seeded if e.event_type == "webset.created"}
    received = drain(stack, url)
    assert sorted(m["detail"]["id"] for m in received) == sorted(expected)
    assert {m["detail"]["tenantId"] for m in received} == {"acme", "globex"}


def test_republish_of_an_empty_window_puts_nothing(stack: Any) -> None:
    # Given a queue behind a rule on the bus
    url = attach_queue(stack, "republish-empty")

    # When a window before every stored event is republished
    done = run(stack, "republish", "--from", "2024-01-01", "--to", "2024-01-02", "--tenant", "acme")

    # Then nothing arrives and the summary says zero
    assert done.exit_code == 0, done.stderr
    assert "0 entries put, 0 billed events, 0 failed" in done.stdout
    assert drain(stack, url, quiet_seconds=0.5) == []
