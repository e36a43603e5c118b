"""The `eventhub` command line against a small fake query API on loopback (pytest-httpserver)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from eventhub import cli
from tests.conftest import LOCAL_CONFIG

ACME_KEY = "dev-key-acme-000000"
GLOBEX_KEY = "dev-key-globex-00000"
EVENT_ID = "0b7e7a52-1d55-5b0e-9a7f-2f3e4c5d6e7f"


def event(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "tenantId": "acme",
        "eventType": fields.pop("event_type", "classify_run.processed"),
        "occurredAt": f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}.000000Z",
        "resourceType": "classify_run",
        "resourceId": f"clr_{n}",
        "correlationId": "flow-1",
        "causationId": None,
        "actorType": "provider",
        "actorId": "extend-dev",
        "payload": {"n": n},
        "source": "extend",
        "sourceEventId": f"evt_{n}",
        "channel": "webhook",
        "receivedAt": f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}.500000Z",
        **fields,
    }


def page(events: list[dict[str, Any]], *, total: int | None = None, has_next: bool = False) -> dict[str, Any]:
    return {
        "events": events,
        "hasNext": has_next,
        "limit": 100,
        "offset": 0,
        "total": len(events) if total is None else total,
    }


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "220")
    for name in ("EVENTHUB_API_URL", "EVENTHUB_API_KEY", "EVENTHUB_CONFIG_PATH"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def invoke(runner: CliRunner, server: HTTPServer | None, *args: str, **kwargs: Any) -> Any:
    base = ["--config", str(LOCAL_CONFIG)]
    if server is not None:
        base += ["--api-url", server.url_for("").rstrip("/")]
    return runner.invoke(cli.app, [*base, *args], **kwargs)


# -- events list ---------------------------------------------------------------------------------


def test_list_sends_the_filters_and_the_local_tenants_key_and_prints_the_events(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given a query API that answers one filtered page for acme's key
    httpserver.expect_request(
        "/api/v1/events",
        method="GET",
        headers={"X-API-Key": ACME_KEY},
        query_string={
            "event_type": "classify_run.processed",
            "resource_type": "classify_run",
            "resource_id": "clr_7",
            "from": "2024-05-01T00:00:00.000000Z",
            "to": "2024-05-02T00:00:00.000000Z",
            "limit": "5",
            "offset": "10",
        },
    ).respond_with_json(page([event(7, resourceId="clr_7")], total=11))

    # When the list is asked for with every filter
    result = invoke(
        runner,
        httpserver,
        "events", "list", "--event-type", "classify_run.processed", "--resource-type", "classify_run",
        "--resource-id", "clr_7", "--from", "2024-05-01", "--to", "2024-05-02T00:00:00Z",
        "--limit", "5", "--offset", "10",
    )  # fmt: skip

    # Then the event is shown with the page's position
    assert result.exit_code == 0, result.output
    assert event(7)["id"] in result.stdout
    assert "classify_run.processed" in result.stdout
    assert "1 of 11 events" in result.stderr


def test_tenant_option_picks_that_tenants_key_from_the_local_config(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given a query API that answers only globex's key
    httpserver.expect_request("/api/v1/events", headers={"X-API-Key": GLOBEX_KEY}).respond_with_json(page([]))

    # When the list is asked for with --tenant globex
    result = invoke(runner, httpserver, "--tenant", "globex", "events", "list", "--json")

    # Then the request carried globex's key from the local config, and the page is printed
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 0


def test_list_json_prints_the_api_page_unchanged(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API that answers a page with a next cursor
    body = page([event(1), event(2)], has_next=True) | {"nextCursor": "abc"}
    httpserver.expect_request("/api/v1/events").respond_with_json(body)

    # When the list is asked for as JSON
    result = invoke(runner, httpserver, "events", "list", "--json")

    # Then the API's page is printed as it came
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == body


def test_a_from_after_to_is_a_bad_time_range_and_nothing_is_asked(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # When the list is asked for with a from after its to
    result = invoke(runner, httpserver, "events", "list", "--from", "2024-05-02", "--to", "2024-05-01")

    # Then it is refused as a bad time range
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "bad time range" in result.stderr
    # And the API is not asked
    assert httpserver.log == []


def test_a_time_that_is_not_a_time_is_refused_with_the_accepted_forms(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # When the list is asked for with a from that is not a time
    result = invoke(runner, httpserver, "events", "list", "--from", "yesterday-ish")

    # Then it is refused, quoting the option and its value
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "--from: 'yesterday-ish' is not a time" in result.stderr
    # And the API is not asked
    assert httpserver.log == []


def test_relative_times_are_sent_as_utc_timestamps(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API that records the query it is sent
    seen: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        seen.append(dict(request.args))
        return Response(json.dumps(page([])), content_type="application/json")

    httpserver.expect_request("/api/v1/events").respond_with_handler(answer)

    # When the list is asked for from two hours ago to now
    result = invoke(runner, httpserver, "events", "list", "--from", "2h", "--to", "now")

    # Then the range sent is two hours long, as UTC timestamps
    assert result.exit_code == 0, result.output
    start = cli.parse_moment(seen[0]["from"], "--from")
    end = cli.parse_moment(seen[0]["to"], "--to")
    assert (end - start).total_seconds() == pytest.approx(7200, abs=1)
    assert seen[0]["from"].endswith("Z")


def test_a_422_is_rendered_as_field_and_message(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API that refuses a filter with a 422
    detail = {"detail": [{"loc": ["query", "resource_type"], "msg": "unknown resource type", "type": "enum"}]}
    httpserver.expect_request("/api/v1/events").respond_with_json(detail, status=422)

    # When the list is asked for with that filter
    result = invoke(runner, httpserver, "events", "list", "--resource-type", "nope")

    # Then it fails as bad input, naming the field and the API's message
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "invalid request: resource_type: unknown resource type" in result.stderr


def test_a_refused_key_is_an_auth_failure(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API that refuses the key
    httpserver.expect_request("/api/v1/events").respond_with_json(
        {"error": "unauthorized", "message": "invalid API key"}, status=401
    )

    # When the list is asked for
    result = invoke(runner, httpserver, "events", "list")

    # Then it fails as an auth failure, with the API's message
    assert result.exit_code == cli.EXIT_AUTH
    assert "unauthorized: invalid API key" in result.stderr
    # And the key is not printed
    assert ACME_KEY not in result.output


def test_a_server_fault_is_a_failure_with_the_status(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API whose store is unavailable
    httpserver.expect_request("/api/v1/events").respond_with_json(
        {"error": "store_unavailable", "message": "event store unavailable (ThrottlingException)"}, status=503
    )

    # When the list is asked for
    result = invoke(runner, httpserver, "events", "list")

    # Then it fails, with the status and the API's message
    assert result.exit_code == cli.EXIT_FAILURE
    assert "503: event store unavailable" in result.stderr


def test_an_unreachable_api_says_so_and_fails(runner: CliRunner) -> None:
    # Given a loopback port nothing listens on (bound, then closed)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    # When the list is asked of an API on that port
    result = runner.invoke(
        cli.app, ["--config", str(LOCAL_CONFIG), "--api-url", f"http://127.0.0.1:{port}", "events", "list"]
    )

    # Then it fails, saying the API cannot be reached
    assert result.exit_code == cli.EXIT_FAILURE
    assert f"cannot reach http://127.0.0.1:{port}" in result.stderr
    # And how to start the local stack
    assert "make run" in result.stderr


# -- credentials and targets -----------------------------------------------------------------------


def test_a_deployed_api_without_a_key_is_missing_credentials(runner: CliRunner) -> None:
    # When a deployed API's list is asked for without a key
    result = runner.invoke(
        cli.app, ["--api-url", "https://abc.execute-api.eu-west-1.amazonaws.com/prod", "events", "list"]
    )

    # Then it fails as missing credentials
    assert result.exit_code == cli.EXIT_AUTH
    assert "missing credentials" in result.stderr
    # And names the option that gives one
    assert "--api-key" in result.stderr


def test_a_tenant_without_a_key_in_the_config_is_missing_credentials(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # When the list is asked for a tenant the local config holds no key for
    result = invoke(runner, httpserver, "--tenant", "initech", "events", "list")

    # Then it fails as missing credentials, naming the tenant
    assert result.exit_code == cli.EXIT_AUTH
    assert "no inline API key for tenant 'initech'" in result.stderr
    # And the API is not asked
    assert httpserver.log == []


def test_api_url_and_key_come_from_the_environment(
    runner: CliRunner, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the API's URL and a key in the environment only
    monkeypatch.setenv("EVENTHUB_API_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("EVENTHUB_API_KEY", "key-from-environment")
    # And a query API that answers that key
    httpserver.expect_request(
        "/api/v1/events", headers={"X-API-Key": "key-from-environment"}
    ).respond_with_json(page([event(3)]))

    # When the list is asked for without options
    result = runner.invoke(cli.app, ["events", "list"])

    # Then the request went to that URL with that key
    assert result.exit_code == 0, result.output
    assert event(3)["id"] in result.stdout


def test_stack_outputs_give_the_query_api_url(
    runner: CliRunner, httpserver: HTTPServer, tmp_path: Path
) -> None:
    # Given a cdk outputs file whose stack has a webhook URL and a query API URL
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "EventHub": {
                    "WebhookApiUrl": "https://hooks.example.invalid/prod/",
                    "QueryApiUrl": httpserver.url_for("/prod/"),
                    "TableName": "eventhub-events",
                }
            }
        )
    )
    # And a query API that answers the deployed key under the stack's URL
    httpserver.expect_request("/prod/api/v1/events", headers={"X-API-Key": "deployed-key"}).respond_with_json(
        page([event(4)])
    )

    # When the list is asked for with that outputs file and a key
    result = runner.invoke(
        cli.app, ["--stack-outputs", str(outputs), "--api-key", "deployed-key", "events", "list", "--json"]
    )

    # Then it lists through the query API's URL, not the webhook URL
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"][0]["id"] == event(4)["id"]


def test_a_deployed_stack_name_gives_the_url_from_its_outputs(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given a CloudFormation stack (moto) whose outputs name the query API
    import boto3
    from moto import mock_aws

    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueryApiUrl": {"Value": httpserver.url_for("/prod/")}},
    }
    httpserver.expect_request("/prod/api/v1/events", headers={"X-API-Key": "deployed-key"}).respond_with_json(
        page([event(6)])
    )
    with mock_aws():
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="EventHub", TemplateBody=json.dumps(template)
        )

        # When the CLI is pointed at the stack by name
        result = runner.invoke(
            cli.app,
            [
                "--stack",
                "EventHub",
                "--region",
                "us-east-1",
                "--api-key",
                "deployed-key",
                "events",
                "list",
                "--json",
            ],
        )

    # Then it reads the URL from the outputs and lists through it
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"][0]["id"] == event(6)["id"]


def test_an_unknown_stack_name_is_a_clear_failure(runner: CliRunner) -> None:
    # Given an account without that stack
    from moto import mock_aws

    with mock_aws():
        # When the CLI is pointed at a stack by a name that does not exist
        result = runner.invoke(
            cli.app, ["--stack", "Nope", "--region", "us-east-1", "--api-key", "k", "events", "list"]
        )

    # Then it fails as not found, naming the stack
    assert result.exit_code == cli.EXIT_NOT_FOUND
    assert "cannot read the outputs of stack 'Nope'" in result.stderr


def test_stack_outputs_without_an_api_url_are_refused(runner: CliRunner, tmp_path: Path) -> None:
    # Given a cdk outputs file without a query API URL
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"EventHub": {"TableName": "eventhub-events"}}))

    # When the CLI is pointed at it
    result = runner.invoke(cli.app, ["--stack-outputs", str(outputs), "--api-key", "k", "events", "list"])

    # Then it fails, listing the outputs it found
    assert result.exit_code == cli.EXIT_FAILURE
    assert "no query API URL among the stack outputs (EventHub.TableName)" in result.stderr


# -- events get ----------------------------------------------------------------------------------


def test_get_prints_the_event_with_its_payload_and_artifacts(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given a stored event whose payload holds text that looks like markup, and its copied artifact
    stored = event(5, id=EVENT_ID, payload={"status": "PROCESSED", "note": "[bold]not markup[/bold]"})
    artifacts = [{"name": "output.json", "status": "copied", "size": 1234}]
    httpserver.expect_request(f"/api/v1/events/{EVENT_ID}").respond_with_json(stored)
    httpserver.expect_request(f"/api/v1/events/{EVENT_ID}/artifacts").respond_with_json(
        {"artifacts": artifacts}
    )

    # When the event is asked for
    result = invoke(runner, httpserver, "events", "get", EVENT_ID)

    # Then it prints the event and its payload, the markup as text
    assert result.exit_code == 0, result.output
    assert EVENT_ID in result.stdout
    assert '"status": "PROCESSED"' in result.stdout
    assert "[bold]not markup[/bold]" in result.stdout
    # And its artifacts with their status and size
    assert "artifact 0 output.json (copied 1234 bytes)" in result.stdout


def test_get_json_includes_artifacts_when_the_api_has_them(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API with an event and its pending artifact
    httpserver.expect_request(f"/api/v1/events/{EVENT_ID}").respond_with_json(event(5, id=EVENT_ID))
    httpserver.expect_request(f"/api/v1/events/{EVENT_ID}/artifacts").respond_with_json(
        {"artifacts": [{"name": "a.pdf", "status": "pending"}]}
    )

    # When the event is asked for as JSON
    result = invoke(runner, httpserver, "events", "get", EVENT_ID, "--json")

    # Then the JSON carries the event's artifacts
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["artifacts"] == [{"name": "a.pdf", "status": "pending"}]


def test_get_by_provider_id_looks_the_event_up_and_prints_where_it_came_from(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given a query API that knows Klavi's event klv-77 as our event EVENT_ID
    found = event(5, id=EVENT_ID, source="klavi", sourceEventId="klv-77", channel="poll")
    httpserver.expect_request(
        "/api/v1/events", query_string={"source": "klavi", "source_event_id": "klv-77"}
    ).respond_with_json(page([found]))
    httpserver.expect_request(f"/api/v1/events/{EVENT_ID}/artifacts").respond_with_json({"artifacts": []})

    # When the event is asked for by Klavi's id
    result = invoke(runner, httpserver, "events", "get", "--source", "klavi", "--source-event-id", "klv-77")

    # Then it is shown with its provenance, its artifacts read by our id
    assert result.exit_code == 0, result.output
    assert EVENT_ID in result.stdout
    for shown in ("klavi", "klv-77", "poll", found["receivedAt"]):
        assert shown in result.stdout
    assert [entry[0].path for entry in httpserver.log] == [
        "/api/v1/events",
        f"/api/v1/events/{EVENT_ID}/artifacts",
    ]


def test_get_by_an_unknown_provider_id_is_not_found(runner: CliRunner, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/v1/events", query_string={"source": "klavi", "source_event_id": "nope"}
    ).respond_with_json(page([]))

    result = invoke(
        runner, httpserver, "events", "get", "--source", "klavi", "--source-event-id", "nope", "--json"
    )

    assert result.exit_code == cli.EXIT_NOT_FOUND
    assert "no klavi event with provider id 'nope'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        [],  # neither our id nor the provider's
        [EVENT_ID, "--source", "klavi", "--source-event-id", "klv-77"],  # both
        ["--source-event-id", "klv-77"],  # a provider id without its provider
    ],
)
def test_get_needs_our_id_or_a_source_with_its_provider_id(
    runner: CliRunner, httpserver: HTTPServer, args: list[str]
) -> None:
    result = invoke(runner, httpserver, "events", "get", *args)

    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "--source" in result.stderr
    assert len(httpserver.log) == 0


def test_list_and_tail_send_the_source_filter(runner: CliRunner, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/v1/events", query_string={"source": "klavi", "limit": "20", "offset": "0"}
    ).respond_with_json(page([event(3, source="klavi")]))
    httpserver.expect_request(
        "/api/v1/events", query_string={"source": "klavi", "limit": "100", "offset": "0"}
    ).respond_with_json(page([event(3, source="klavi")]))

    listed = invoke(runner, httpserver, "events", "list", "--source", "klavi")
    tailed = invoke(
        runner, httpserver, "events", "tail", "--source", "klavi", "--interval", "0", "--polls", "0"
    )

    assert listed.exit_code == 0, listed.output
    assert tailed.exit_code == 0, tailed.output
    assert "klavi" in listed.stdout
    assert event(3)["id"] in tailed.stdout
    assert len(httpserver.log) == 2


def test_get_of_an_unknown_event_is_not_found(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API that does not know the event
    httpserver.expect_request(f"/api/v1/events/{EVENT_ID}").respond_with_json(
        {"error": "not_found", "message": "event not found"}, status=404
    )

    # When the event is asked for
    result = invoke(runner, httpserver, "events", "get", EVENT_ID)

    # Then it fails as not found, with the API's message
    assert result.exit_code == cli.EXIT_NOT_FOUND
    assert "not found: event not found" in result.stderr


# -- events tail ---------------------------------------------------------------------------------


class GrowingLog:
    """A fake list route whose newest-first contents grow between polls."""

    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches = batches
        self.polls = 0
        self.stored: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        if self.polls < len(self.batches):
            self.stored.extend(self.batches[self.polls])
        self.polls += 1
        newest_first = sorted(self.stored, key=lambda e: e["occurredAt"], reverse=True)
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
        chunk = newest_first[offset : offset + limit]
        body = page(chunk, total=len(newest_first), has_next=offset + limit < len(newest_first))
        return Response(json.dumps(body), content_type="application/json")


def test_tail_prints_the_recent_events_then_only_unseen_ones_oldest_first(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given three stored events, then two more arriving (out of order), then nothing new
    log = GrowingLog([[event(1), event(2), event(3)], [event(5), event(4)], []])
    httpserver.expect_request("/api/v1/events").respond_with_handler(log)

    # When tail shows the last two and polls twice
    result = invoke(runner, httpserver, "events", "tail", "--lines", "2", "--interval", "0", "--polls", "2")

    # Then events 2 and 3 come first, then 4 and 5 once each, in time order
    assert result.exit_code == 0, result.output
    ids = [line.split()[1] for line in result.stdout.splitlines() if line.strip()]
    assert ids == [event(n)["id"] for n in (2, 3, 4, 5)]


def test_tail_pages_back_through_a_burst_larger_than_a_page(
    runner: CliRunner, httpserver: HTTPServer
) -> None:
    # Given one event, then a burst of 150 between two polls
    log = GrowingLog([[event(0)], [event(n) for n in range(1, 151)]])
    httpserver.expect_request("/api/v1/events").respond_with_handler(log)

    # When tail prints no recent events and polls once, as JSON lines
    result = invoke(
        runner, httpserver, "events", "tail", "--lines", "0", "--interval", "0", "--polls", "1", "--json"
    )

    # Then it prints the whole burst, every page of it, oldest first
    assert result.exit_code == 0, result.output
    printed = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert printed == [event(n)["id"] for n in range(1, 151)]


def test_tail_passes_its_filters(runner: CliRunner, httpserver: HTTPServer) -> None:
    # Given a query API that answers only the filtered list
    httpserver.expect_request(
        "/api/v1/events", query_string={"event_type": "webset.created", "limit": "100", "offset": "0"}
    ).respond_with_json(page([event(9, event_type="webset.created")]))

    # When tail is asked for one event type and polls once
    result = invoke(
        runner,
        httpserver,
        "events",
        "tail",
        "--event-type",
        "webset.created",
        "--interval",
        "0",
        "--polls",
        "1",
    )

    # Then it sent the filter with both requests and printed the event
    assert result.exit_code == 0, result.output
    assert "webset.created" in result.stdout
    assert len(httpserver.log) == 2


# -- pieces ----------------------------------------------------------------------------------------


def test_error_bodies_read_as_one_line() -> None:
    # When error bodies are described
    # Then a 422's first problem reads as its field and message
    assert cli.describe_error(422, b'{"detail":[{"loc":["query","limit"],"msg":"too big","type":"x"}]}') == (
        "limit: too big"
    )
    # And an error body as its message
    assert (
        cli.describe_error(401, b'{"error":"unauthorized","message":"invalid API key"}') == "invalid API key"
    )
    # And a body that is not JSON as itself, and an empty one as its status
    assert cli.describe_error(502, b"Bad Gateway") == "Bad Gateway"
    assert cli.describe_error(500, b"") == "HTTP 500"


# -- maintenance commands --------------------------------------------------------------------------


class FakeRuntimeModule:
    """Stands in for a runtime module: records the argv it was handed, returns a set exit code."""

    def __init__(self, code: int = 0) -> None:
        self.code = code
        self.calls: list[list[str]] = []

    def main(self, argv: list[str]) -> int:
        self.calls.append(argv)
        return self.code


@pytest.fixture
def runtime_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(command: str, code: int = 0) -> FakeRuntimeModule:
        import sys

        fake = FakeRuntimeModule(code)
        name = f"tests.unit.fake_{command.replace('-', '_')}"
        monkeypatch.setitem(sys.modules, name, fake)
        monkeypatch.setitem(cli.MAINTENANCE_MODULES, command, name)
        return fake

    return install


def test_backfill_of_an_unknown_connection_names_the_known_ones(runner: CliRunner) -> None:
    # When a backfill is asked for a connection the config does not have
    result = runner.invoke(cli.app, ["--config", str(LOCAL_CONFIG), "backfill", "nope", "--from", "1d"])

    # Then it fails as bad input, naming the connection
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "unknown connection 'nope'" in result.stderr
    # And the connections it could backfill
    assert "vai-pull" in result.stderr


def test_backfill_refuses_a_webhook_only_connection(runner: CliRunner) -> None:
    # When a backfill is asked for a connection that only receives webhooks
    result = runner.invoke(cli.app, ["--config", str(LOCAL_CONFIG), "backfill", "extend-dev", "--from", "1d"])

    # Then it fails as bad input, naming the connections it takes
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "backfill takes VAI and Exa poll connections" in result.stderr


def test_backfill_refuses_a_bad_window(runner: CliRunner) -> None:
    # When a backfill is asked for a window whose from is after its to
    result = runner.invoke(
        cli.app, ["--config", str(LOCAL_CONFIG), "backfill", "vai-pull", "--from", "1d", "--to", "2d"]
    )

    # Then it fails as a bad time range
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "bad time range" in result.stderr


def test_replay_of_a_deployed_stack_is_refused(runner: CliRunner) -> None:
    # When a replay is asked for a deployed stack's API
    result = runner.invoke(cli.app, ["--api-url", "https://api.example.invalid/prod", "replay"])

    # Then it fails as bad input: replay works on the local stack
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "`eventhub replay` works on the local stack" in result.stderr


def test_backfill_without_a_running_local_stack_says_how_to_start_one(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a directory where no local stack has registered
    monkeypatch.chdir(tmp_path)  # no stack has registered here

    # When a backfill is asked for through a local API URL
    result = runner.invoke(
        cli.app,
        [
            "--config",
            str(LOCAL_CONFIG),
            "--api-url",
            "http://127.0.0.1:3999",
            "backfill",
            "vai-pull",
            "--from",
            "1d",
        ],
    )

    # Then it fails, saying no local stack runs on that port and how to start one
    assert result.exit_code == cli.EXIT_FAILURE
    assert "no local stack is running on port 3999: start it with `make run`" in result.stderr


def test_recopy_refuses_what_is_not_an_event_id(runner: CliRunner, runtime_module: Any) -> None:
    # Given the recopy command's runtime module replaced by a recorder
    fake = runtime_module("recopy")

    # When recopy is asked for something that is not an event id
    result = runner.invoke(cli.app, ["recopy", "clr_123"])

    # Then it fails as bad input, naming it
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "'clr_123' is not an event id" in result.stderr
    # And the runtime module is not run
    assert fake.calls == []


def test_recopy_hands_the_event_and_the_local_stacks_port_over(
    runner: CliRunner, runtime_module: Any
) -> None:
    # Given the recopy command's runtime module replaced by a recorder
    fake = runtime_module("recopy")

    # When recopy is asked for an event id in upper case, against a local API URL
    result = runner.invoke(cli.app, ["--api-url", "http://127.0.0.1:3999", "recopy", EVENT_ID.upper()])

    # Then the runtime module is handed the event id, normalized, and the local stack's port
    assert result.exit_code == 0, result.output
    assert fake.calls == [["--event", EVENT_ID, "--port", "3999"]]


def test_recopy_of_a_deployed_stack_is_refused(runner: CliRunner, runtime_module: Any) -> None:
    # Given the recopy command's runtime module replaced by a recorder
    fake = runtime_module("recopy")

    # When recopy is asked for against a deployed stack's API
    result = runner.invoke(cli.app, ["--api-url", "https://api.example.invalid/prod", "recopy", EVENT_ID])

    # Then it fails as bad input: recopy works on the local stack
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "works on the local stack" in result.stderr
    # And the runtime module is not run
    assert fake.calls == []


def test_a_runtime_modules_failure_is_the_commands_exit_code(runner: CliRunner, runtime_module: Any) -> None:
    # Given the recopy command's runtime module, which fails with exit code 4
    runtime_module("recopy", code=4)

    # When recopy runs
    result = runner.invoke(cli.app, ["recopy", EVENT_ID.upper()])

    # Then the command exits with 4
    assert result.exit_code == 4


def test_rebuild_counters_hands_over_its_options(runner: CliRunner, runtime_module: Any) -> None:
    # Given the rebuild-counters command's runtime module replaced by a recorder
    fake = runtime_module("rebuild-counters")

    # When rebuild-counters is asked for with a config and --dry-run
    result = runner.invoke(cli.app, ["--config", "other.json", "rebuild-counters", "--dry-run"])

    # Then the runtime module is handed both options
    assert result.exit_code == 0, result.output
    assert fake.calls == [["--config", "other.json", "--dry-run"]]


def test_a_command_whose_runtime_module_is_absent_says_so(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the rebuild-counters command pointed at a module that does not exist
    monkeypatch.setitem(cli.MAINTENANCE_MODULES, "rebuild-counters", "eventhub.local.no_such_module")

    # When it runs
    result = runner.invoke(cli.app, ["rebuild-counters"])

    # Then it fails, saying the command is not available in this installation
    assert result.exit_code == cli.EXIT_FAILURE
    assert "`eventhub rebuild-counters` is not available in this installation" in result.stderr
