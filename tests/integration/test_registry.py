"""Connections and API keys at run time: the functions read the registry by key, a change takes
effect within the cache bound, and a config file is planned and applied idempotently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventhub.local.resources import ResourceNames, schedule_target
from eventhub.local.signing import sign
from eventhub.registry.apply import apply_config
from eventhub.registry.plan import key_record
from eventhub.registry.schedules import MAX_EVENT_AGE_SECONDS, RETRY_ATTEMPTS, Schedules
from functions.adapters import factory
from functions.adapters.registry.cached import DEFAULT_TTL_SECONDS
from functions.adapters.registry.items import ConnectionRecord, KeyRecord
from functions.adapters.registry.table import RegistryTable
from functions.handlers import query
from functions.models.config import ApiKey, Connection, HubConfig, Provider, hash_api_key, load_config
from tests.conftest import LOCAL_CONFIG, sensitive
from tests.integration.test_intake import api_event, deliver

NEW_KEY = "ehk_run-time-key-for-acme-0001"
NEW_SECRET = "run-time-extend-signing-secret"
sensitive(NEW_KEY, NEW_SECRET)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(lambda_env: dict[str, Any]) -> Clock:
    """The functions' registry cache on a clock the test moves."""
    moved = Clock()
    factory.registry().cache.clock = moved
    return moved


@pytest.fixture
def registry(lambda_env: dict[str, Any]) -> RegistryTable:
    return RegistryTable(lambda_env["registry"], lambda_env["dynamodb"])


@pytest.fixture
def schedules(lambda_env: dict[str, Any]) -> Schedules:
    return Schedules(lambda_env["scheduler"], schedule_target(ResourceNames()))


def list_events(key: str, context: Any) -> int:
    return query.handler(api_event("GET", "/api/v1/events", {"X-API-Key": key}), context)["statusCode"]


def test_a_revoked_key_works_until_the_cache_bound_then_is_refused(
    registry: RegistryTable, clock: Clock, lambda_context: Any
) -> None:
    # Given a key created at run time, and a query container that has just used it
    registry.put_key(KeyRecord(hash_api_key(NEW_KEY), "acme", "ci", "2026-01-01T00:00:00+00:00", "0001"))
    assert list_events(NEW_KEY, lambda_context) == 200
    # When it is revoked
    assert registry.delete_key(hash_api_key(NEW_KEY)) is True
    # Then it keeps working only while the container's read of it is younger than the bound
    clock.now += DEFAULT_TTL_SECONDS - 1
    assert list_events(NEW_KEY, lambda_context) == 200
    clock.now += 1.001
    assert list_events(NEW_KEY, lambda_context) == 401


def test_a_key_created_at_run_time_works_at_once(registry: RegistryTable, lambda_context: Any) -> None:
    # Given a running query container that has served other keys
    assert list_events("dev-key-acme-000000", lambda_context) == 200
    # When a key is created
    registry.put_key(KeyRecord(hash_api_key(NEW_KEY), "acme", "new", "2026-01-01T00:00:00+00:00", "0001"))
    # Then its first request is answered (a key never seen is read, not cached as missing)
    assert list_events(NEW_KEY, lambda_context) == 200


def test_a_connection_added_at_run_time_receives_a_signed_webhook(
    registry: RegistryTable, lambda_context: Any
) -> None:
    # Given a warm intake container
    body = json.dumps({"eventId": "evt_run_time_1", "eventType": "extract_run.processed", "payload": {}})
    status, _ = deliver(
        "extend-dev",
        body.encode(),
        sign(Provider.EXTEND, "wss_dev_extend_signing_secret", body.encode()),
        lambda_context,
    )
    assert status == 200
    # When a connection is added to the registry
    added = Connection(id="extend-new", provider=Provider.EXTEND, tenant_id="acme", secrets=[NEW_SECRET])
    registry.put_connection(ConnectionRecord(added))
    # Then a webhook signed with its secret is stored, without a restart
    body = body.replace("evt_run_time_1", "evt_run_time_2")
    status, answer = deliver(
        "extend-new", body.encode(), sign(Provider.EXTEND, NEW_SECRET, body.encode()), lambda_context
    )
    assert status == 200 and answer["duplicate"] is False


def test_a_disabled_connection_answers_404_like_an_unknown_one(
    registry: RegistryTable, clock: Clock, lambda_context: Any
) -> None:
    # Given an enabled connection that receives webhooks, and one id that never existed
    body = b'{"eventId": "evt_disabled_1", "eventType": "classify_run.processed", "payload": {}}'
    headers = sign(Provider.EXTEND, "wss_dev_extend_signing_secret", body)
    assert deliver("extend-dev", body, headers, lambda_context)[0] == 200
    # When it is disabled and the cache bound passes
    record = registry.connection_record("extend-dev")
    assert record is not None
    registry.put_connection(ConnectionRecord(record.connection, enabled=False))
    clock.now += DEFAULT_TTL_SECONDS + 1
    # Then it answers exactly as an unknown connection does
    disabled = deliver("extend-dev", body, headers, lambda_context)
    unknown = deliver("never-existed", body, headers, lambda_context)
    assert disabled[0] == unknown[0] == 404
    assert disabled[1]["error"] == unknown[1]["error"]


def test_with_ten_thousand_keys_a_request_reads_one_key_item(
    lambda_env: dict[str, Any], lambda_context: Any
) -> None:
    # Given 10,000 keys in the registry
    ddb, table = lambda_env["dynamodb"], lambda_env["registry"]
    records = [KeyRecord(hash_api_key(f"bulk-key-{n:05d}"), f"t{n % 50}", f"k{n}") for n in range(10_000)]
    for start in range(0, len(records), 25):
        from functions.adapters.registry.items import key_item

        batch = [{"PutRequest": {"Item": key_item(r)}} for r in records[start : start + 25]]
        ddb.batch_write_item(RequestItems={table: batch})
    # When one request is authenticated with one of them
    meter = factory.registry().source.meter
    meter.reset()
    status = list_events("bulk-key-04242", lambda_context)
    # Then it read exactly one registry item, by key
    assert status == 200
    assert meter.by_operation == {"GetItem": 1} and meter.calls == ["GetItem"]


# -- planning and applying a config file -----------------------------------------------------------


def test_applying_the_same_file_twice_plans_nothing_the_second_time(
    registry: RegistryTable, schedules: Schedules
) -> None:
    # Given the registry as make run leaves it (config/local.json applied)
    config = load_config(LOCAL_CONFIG)
    # When the file is applied again
    changes, report = apply_config(config, registry, schedules)
    # Then nothing is planned and nothing written
    assert changes == [] and report.ok and report.done == []


def test_prune_removes_only_what_the_file_no_longer_names(
    registry: RegistryTable, schedules: Schedules
) -> None:
    # Given a key created at run time and a file that drops one poll connection
    registry.put_key(KeyRecord(hash_api_key(NEW_KEY), "acme", "run-time", "", "0001"))
    config = load_config(LOCAL_CONFIG)
    smaller = config.model_copy(update={"connections": [c for c in config.connections if c.id != "vai-pull"]})
    # When it is applied without --prune
    changes, _ = apply_config(smaller, registry, schedules)
    # Then nothing is removed
    assert changes == []
    # When it is applied with --prune
    changes, report = apply_config(smaller, registry, schedules, prune=True)
    # Then exactly the dropped connection, its schedule and the key the file does not name go
    assert report.ok
    assert sorted(c.line() for c in changes) == [
        "- connection vai-pull",
        "- key acme/run-time",
        "- schedule vai-pull",
    ]
    assert registry.connection("vai-pull") is None and registry.tenant_for(hash_api_key(NEW_KEY)) is None
    assert "vai-pull" not in schedules.current() and "klavi-pull" in schedules.current()
    assert {c.id for c in smaller.connections} == {r.connection.id for r in registry.connection_records()}


def test_a_dry_run_plans_and_writes_nothing(registry: RegistryTable, schedules: Schedules) -> None:
    # Given a file that adds a key and changes a poll interval
    config = load_config(LOCAL_CONFIG)
    slower = [
        c.model_copy(update={"poll": c.poll.model_copy(update={"every_seconds": 600})})
        if c.id == "vai-pull"
        else c
        for c in config.connections
    ]  # type: ignore[union-attr]
    changed = config.model_copy(
        update={
            "connections": slower,
            "api_keys": [*config.api_keys, ApiKey(tenant_id="acme", key=NEW_KEY, name="ci")],
        }
    )
    before = (registry.connection_records(), registry.key_records(), schedules.current())
    # When it is applied with --dry-run
    changes, report = apply_config(changed, registry, schedules, dry_run=True)
    # Then the plan names the changes (never the key), and the store is as it was
    lines = sorted(c.line() for c in changes)
    assert lines == [
        "+ key acme/ci",
        "~ connection vai-pull: changed poll",
        "~ schedule vai-pull: rate(10 minutes)",
    ]
    assert NEW_KEY not in "".join(lines)
    assert (registry.connection_records(), registry.key_records(), schedules.current()) == before
    assert report.done == [] and len(report.not_attempted) == 3


def test_a_failed_write_stops_the_apply_and_reports_what_was_done_and_what_was_not(
    registry: RegistryTable, schedules: Schedules, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three keys to add, and a store that refuses the second write
    keys = [ApiKey(tenant_id="acme", key=f"ehk_apply-key-{n}-000000", name=f"k{n}") for n in range(3)]
    config = load_config(LOCAL_CONFIG)
    wanted = config.model_copy(update={"api_keys": [*config.api_keys, *keys]})
    real_put, calls = registry.put_key, []

    def flaky(record: KeyRecord, *, only_new: bool = True) -> bool:
        calls.append(record.name)
        if len(calls) == 2:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")
        return real_put(record, only_new=only_new)

    monkeypatch.setattr(registry, "put_key", flaky)
    # When the file is applied
    changes, report = apply_config(wanted, registry, schedules)
    # Then the first key is stored, the second is reported failed with its code, the third not tried
    assert [c.name for c in report.done] == ["acme/k0"]
    assert report.failed is not None and report.failed.name == "acme/k1"
    assert report.error == "ProvisionedThroughputExceededException"
    assert [c.name for c in report.not_attempted] == ["acme/k2"]
    # And applying again (the store healthy) finishes the job and then plans nothing
    monkeypatch.setattr(registry, "put_key", real_put)
    _, again = apply_config(wanted, registry, schedules)
    assert [c.name for c in again.done] == ["acme/k1", "acme/k2"]
    assert apply_config(wanted, registry, schedules)[0] == []


def test_a_poll_schedule_invokes_the_poller_with_bounded_retries_and_a_dead_letter_queue(
    schedules: Schedules, lambda_env: dict[str, Any]
) -> None:
    # Given the schedule config/local.json's klavi-pull got at start
    detail = lambda_env["scheduler"].get_schedule(GroupName=ResourceNames().schedule_group, Name="klavi-pull")
    target = detail["Target"]
    # Then it invokes the poller with the connection id, retries twice within ten minutes, then
    # gives the invocation to the pollers' dead-letter queue
    assert detail["ScheduleExpression"] == "rate(1 minute)"
    assert json.loads(target["Input"]) == {"connectionId": "klavi-pull"}
    assert target["Arn"] == schedules.target.poller_arn and target["RoleArn"] == schedules.target.role_arn
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": RETRY_ATTEMPTS,
        "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
    }
    assert target["DeadLetterConfig"] == {"Arn": schedules.target.dead_letter_arn}


def test_a_key_in_a_file_is_stored_as_its_hash_and_last_four_only(registry: RegistryTable) -> None:
    # Given a file key written inline (a local config)
    record = key_record(
        ApiKey(tenant_id="acme", key=NEW_KEY, name="inline"), now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    # When it is stored
    registry.put_key(record)
    # Then the item holds its hash and last four characters, never the key
    (item,) = [
        i
        for i in registry.ddb.scan(TableName=registry.table)["Items"]
        if i.get("name", {}).get("S") == "inline"
    ]
    assert NEW_KEY not in json.dumps(item)
    assert item["pk"]["S"] == "apikey#" + hash_api_key(NEW_KEY) and item["last4"]["S"] == NEW_KEY[-4:]


def test_a_hub_config_answers_the_same_reads_as_the_registry(registry: RegistryTable) -> None:
    # Given config/local.json as a file and as applied to the registry
    config: HubConfig = load_config(LOCAL_CONFIG)
    # Then both give the same connection for every id, and the same tenant for every key
    for connection in config.connections:
        assert registry.connection(connection.id) == config.connection(connection.id)
    for key in config.api_keys:
        assert registry.tenant_for(key.digest) == config.tenant_for(key.digest) == key.tenant_id
