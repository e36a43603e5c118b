"""The poller as it runs: the Lambda handler, the local scheduler, and `make poll`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventhub.demo import VaiFake
from eventhub.local import poll
from eventhub.local.scheduler import HANDLER, PollScheduler, running_stack_endpoint
from eventhub.local.stack import LocalStack
from functions.handlers.poller import handler
from functions.models.config import HubConfig
from functions.models.event import format_timestamp
from tests.conftest import EVENTS_DIR, use_config
from tests.integration.polling.conftest import poll_config, stored_source_ids


def _write_config(path: Path, config: HubConfig) -> Path:
    path.write_text(config.to_json(), encoding="utf-8")
    return path


def test_the_handler_runs_one_poll_from_a_scheduler_event(
    vai: VaiFake, lambda_env: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
):
    # Given the scheduler's sample event for vai-pull, and a config pointing vai-pull at the fake
    vai.add_events(120, start=datetime.now(UTC) - timedelta(minutes=30))
    config = poll_config(vai=vai, since=format_timestamp(datetime.now(UTC) - timedelta(minutes=50)))
    use_config(lambda_env, config, monkeypatch)
    event = json.loads((EVENTS_DIR / "scheduler" / "poll-vai.json").read_text())
    # When the poller handler is invoked with it
    result = handler(event, lambda_context)
    # Then it answers the run's summary, and the events are stored
    assert result["connectionId"] == "vai-pull" and result["outcome"] == "completed"
    assert (result["seen"], result["new"], result["pages"]) == (120, 120, 2)
    assert set(stored_source_ids(lambda_env, "vai")) == vai.ids


def test_the_handler_refuses_an_event_without_a_connection_id(
    lambda_env: dict[str, Any], lambda_context: Any
):
    from pydantic import ValidationError

    # When the poller handler is invoked with an input that is not {"connectionId": ...}
    # Then the invocation fails validation
    with pytest.raises(ValidationError):
        handler({"connection": "vai-pull"}, lambda_context)


def test_the_local_scheduler_invokes_each_poll_connection_again_and_again():
    # Given a scheduler over two poll connections, one every second
    def connection(name: str, provider: str, every: int) -> dict:
        poll = {"baseUrl": "http://127.0.0.1:9", "apiKey": "k", "everySeconds": every}
        return {"id": name, "provider": provider, "tenantId": "t", "poll": poll}

    config = HubConfig.model_validate(
        {"connections": [connection("a", "vai", 1), connection("b", "exa", 3600)]}
    )
    calls: list[tuple[str, dict]] = []
    third = threading.Event()

    def invoke(handler_path: str, event: dict) -> dict:
        calls.append((handler_path, event))
        if len(calls) == 3:
            third.set()
        if event["connectionId"] == "b":
            raise RuntimeError("provider down")  # a failed run is reported, not fatal
        return {
            "connectionId": event["connectionId"],
            "provider": "vai",
            "runId": "r",
            "outcome": "completed",
        }

    scheduler = PollScheduler(config.connections, first_delay=0)
    # When it runs for a while
    scheduler.start_with(invoke)
    try:
        assert third.wait(10)
    finally:
        scheduler.stop()
    # Then it invoked the poller handler with each connection's id, "a" again on its interval
    assert {event["connectionId"] for _, event in calls} == {"a", "b"}
    assert all(path == HANDLER for path, _ in calls)
    assert scheduler.runs["a"] >= 2 and scheduler.runs["b"] == 1
    assert isinstance(scheduler.last_result["b"], RuntimeError)


def test_make_poll_without_a_running_stack_polls_into_an_embedded_store(
    vai: VaiFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    # Given a VAI fake with events and a config naming it
    vai.add_events(30, start=datetime.now(UTC) - timedelta(minutes=20))
    path = _write_config(tmp_path / "config.json", poll_config(vai=vai))
    # When `make poll CONNECTION=vai-pull` runs with no stack on the port
    code = poll.main(["--config", str(path), "--connection", "vai-pull", "--port", "9"])
    # Then it prints the run's summary line and says the store is a throwaway one
    out, err = capsys.readouterr()
    assert code == 0
    assert "vai-pull (vai): completed - seen 30, new 30, duplicates 0, pages " in out
    assert "embedded store" in err


def test_make_poll_stores_into_the_running_local_stack(
    vai: VaiFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    # Given a running local stack (as `make run` starts it) with a VAI poll connection
    vai.add_events(15, start=datetime.now(UTC) - timedelta(minutes=20))
    path = _write_config(tmp_path / "config.json", poll_config(vai=vai, everySeconds=3600))
    with LocalStack(path) as stack:
        port = stack.port
        assert running_stack_endpoint(port) == stack.endpoint_url
        # When `make poll` runs against its port
        code = poll.main(["--config", str(path), "--connection", "vai-pull", "--port", str(port)])
        # Then the events are in the running stack's table
        clients = {"dynamodb": stack.client("dynamodb"), "table": stack.resources["table"]}
        assert set(stored_source_ids(clients, "vai")) == vai.ids
    out, err = capsys.readouterr()
    assert code == 0 and "new 15" in out and "embedded" not in err
    assert running_stack_endpoint(port) is None  # the registration left with the stack


def test_make_poll_names_the_poll_connections_when_given_an_unknown_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    # Given / When: a connection id that is not a poll connection
    code = poll.main(["--config", "config/local.json", "--connection", "extend-dev", "--port", "9"])
    # Then it fails and lists the ones that are
    assert code == 1
    assert "klavi-pull" in capsys.readouterr().err


def test_a_poll_connection_scheduled_while_the_stack_runs_is_polled_and_stops_when_unscheduled(
    vai: VaiFake, tmp_path: Path
) -> None:
    import time

    from eventhub.local.stack import LocalStack
    from functions.adapters.registry.items import ConnectionRecord
    from functions.models.config import Connection, PollConfig, Provider

    # Given a running local stack whose config polls nothing, and a VAI fake with events
    vai.add_events(3, start=datetime.now(UTC) - timedelta(minutes=10))
    config = _write_config(tmp_path / "hub.json", HubConfig())
    with LocalStack(config) as stack:
        # When a poll connection and its schedule are added, as `eventhub connections add` does
        poll = PollConfig(base_url=vai.url, api_key=vai.api_key, every_seconds=1)
        added = Connection(id="vai-late", provider=Provider.VAI, tenant_id="acme", poll=poll)
        stack.registry_table().put_connection(ConnectionRecord(added))
        stack.schedules().put(added, exists=False)
        # Then the scheduler follows the group and polls it, without a restart
        aws = {**stack.resources, "dynamodb": stack.client("dynamodb")}
        deadline = time.monotonic() + 20
        # (a run stores its events one by one: wait for all of them, not for the first)
        while time.monotonic() < deadline and set(stored_source_ids(aws, "vai")) != vai.ids:
            time.sleep(0.2)
        assert set(stored_source_ids(aws, "vai")) == vai.ids
        # And once its schedule is removed, no further run starts
        stack.schedules().delete("vai-late")
        time.sleep(3)  # the scheduler reads the group every 2 s
        served = len(vai.requests)
        time.sleep(2.5)
        assert len(vai.requests) == served
