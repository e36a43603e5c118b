"""A hub polling another hub: the VAI poller reads our own query API, whose events carry more
than VAI's fields (source, sourceEventId, channel, receivedAt)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from eventhub.demo.base import FakeProvider, Reply, Request
from functions.adapters import factory
from functions.adapters.event_store import EventStore
from functions.logic.polling import PollServices, RunOutcome
from functions.models.config import HubConfig
from functions.models.event import Channel, event_id_for, format_timestamp, parse_timestamp, utcnow
from tests.integration.polling.conftest import run
from tests.integration.query.conftest import ACME_KEY, GLOBEX_KEY, Hub, StreamTap, make_event

VAI_FIELDS = (
    "event_type", "occurred_at", "actor_type", "actor_id", "resource_type", "resource_id",
    "correlation_id", "causation_id", "payload",
)  # fmt: skip


class HubApi(FakeProvider):
    """The upstream hub's query API over HTTP on loopback: every request goes to its handler."""

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub

    def route(self, request: Request) -> Reply:
        status, body = self.hub.get(request.path, request.query, key=request.header("x-api-key"))
        return Reply(status, body)


@pytest.fixture
def upstream(lambda_env: dict[str, Any], lambda_context: Any) -> Iterator[Hub]:
    from eventhub.local import moto_speedups

    moto_speedups.install()
    yield Hub(lambda_env, factory.event_store(), StreamTap(lambda_env), lambda_context)


def test_the_vai_poller_reads_another_hubs_api_and_keeps_its_own_provenance(
    upstream: Hub, services: PollServices, store: EventStore
) -> None:
    # Given acme's events on the upstream hub: a Klavi webhook and an Exa poll, counted
    now = utcnow()
    served = [
        make_event(
            "acme",
            occurred_at=now - timedelta(minutes=20),
            received_at=now - timedelta(minutes=20) + timedelta(seconds=2),
            source="klavi",
            source_event_id="klv-evt-77",
            channel=Channel.WEBHOOK,
            event_type="analysis.analysis_finished",
            resource_type="analysis",
            resource_id="batch-77",
            correlation_id="batch-77",
            payload={"batchId": "batch-77"},
        ),
        make_event(
            "acme",
            occurred_at=now - timedelta(minutes=10),
            source="exa",
            source_event_id="evt_exa_1",
            channel=Channel.POLL,
            event_type="webset.created",
            resource_type="webset",
            resource_id="ws_1",
        ),
    ]
    upstream.put(*served)
    upstream.aggregate()
    with HubApi(upstream) as api:
        # When globex's VAI connection polls it with acme's key
        config = HubConfig.model_validate(
            {
                "connections": [
                    {
                        "id": "hub-pull",
                        "provider": "vai",
                        "tenantId": "globex",
                        "poll": {
                            "baseUrl": api.url,
                            "apiKey": ACME_KEY,
                            "since": format_timestamp(now - timedelta(hours=1)),
                        },
                    }
                ]
            }
        )
        first = run("hub-pull", config, services, now=now)
        again = run("hub-pull", config, services, now=now + timedelta(minutes=1))
        pages = api.pages_served("/api/v1/events")

    # Then both are stored once, as VAI events of globex: source vai, the upstream id as the
    # provider's id, pulled, received now; the upstream's own provenance is not taken over
    assert first.outcome is RunOutcome.COMPLETED, first
    assert (first.seen, first.new, again.new) == (2, 2, 0)
    assert pages and all(r.header("x-api-key") == ACME_KEY for r in pages)
    for event in served:
        stored = store.get(event_id_for("globex", "vai", event.id))
        assert stored is not None
        assert (stored.tenant_id, stored.source, stored.source_event_id) == ("globex", "vai", event.id)
        assert stored.channel is Channel.POLL
        assert parse_timestamp(stored.received_at) >= now > parse_timestamp(event.received_at)
        assert {f: getattr(stored, f) for f in VAI_FIELDS} == {f: getattr(event, f) for f in VAI_FIELDS}
    # And globex finds the Klavi event by the upstream hub's id, as a VAI event
    status, body = upstream.get(
        "/api/v1/events", {"source": "vai", "source_event_id": served[0].id}, key=GLOBEX_KEY
    )
    assert status == 200
    ((found),) = body["events"]
    assert (found["source"], found["sourceEventId"], found["channel"]) == ("vai", served[0].id, "poll")
    assert found["eventType"] == "analysis.analysis_finished"
