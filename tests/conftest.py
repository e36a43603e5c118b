"""Fixtures shared by every test: fake AWS credentials, moto, the stack's resources."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from moto import mock_aws

from eventhub.local.resources import ResourceNames, artifact_limits, create_all, schedule_target
from eventhub.registry.apply import apply_config
from eventhub.registry.schedules import Schedules
from functions.adapters import factory
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from functions.adapters.registry.table import RegistryTable
from functions.models.config import HubConfig, load_config
from tests.support import clock
from tests.support.log_guard import LogGuard, secrets_in_config

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"
LOCAL_CONFIG = ROOT / "config" / "local.json"

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EventHub")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
# pytest-xdist's workers inherit COLUMNS=80, which rich would freeze into the CLI's consoles at
# import; the CLI tests set the width they print at themselves.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-shift-days",
        type=float,
        default=None,
        help="run with the clock moved this many days ahead (make test-future uses 365)",
    )


CLOCK_KEY = pytest.StashKey[object]()

# What `make test-future` runs with the clock a year ahead: every test whose outcome could hang on
# the date (query ranges, aggregates, polling windows and checkpoints, retention and TTLs,
# signature timestamps, time options of the CLI, the console's ranges, the load run's checks).
DATE_SENSITIVE = (
    "tests/browser/test_console.py",
    "tests/integration/polling/",
    "tests/integration/query/",
    "tests/integration/artifacts/test_local_stack.py",
    "tests/integration/test_demo.py",
    "tests/integration/test_intake.py",
    "tests/integration/test_load_nothing_lost.py",
    "tests/integration/test_retention.py",
    "tests/integration/test_schemathesis.py",
    "tests/integration/test_secrets_faults.py",
    "tests/unit/providers/",
    "tests/unit/test_aggregating.py",
    "tests/unit/test_cli.py",
    "tests/unit/test_cli_deployed.py",
    "tests/unit/test_cli_local_stack.py",
    "tests/unit/test_cli_republish.py",
    "tests/integration/test_registry.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "date_sensitive: run again with the clock moved (make test-future)")
    days = clock.shift_days(config.getoption("--clock-shift-days"))
    if days:
        config.stash[CLOCK_KEY] = clock.start(days)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.fspath).resolve().relative_to(ROOT).as_posix()
        if path.startswith(DATE_SENSITIVE):
            item.add_marker(pytest.mark.date_sensitive)


def pytest_report_header(config: pytest.Config) -> str | None:
    moved_to = config.stash.get(CLOCK_KEY, None)
    return f"clock moved to {moved_to:%Y-%m-%d %H:%M} UTC (--clock-shift-days)" if moved_to else None


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


# Values no log line may contain; tests that invent secrets add theirs with `sensitive(...)`.
SENSITIVE: set[str] = set()


def sensitive(*values: str) -> None:
    SENSITIVE.update(values)


@pytest.fixture(autouse=True)
def _no_secrets_in_logs() -> Iterator[None]:
    """Across the whole suite: no secret, API key or presigned-URL credential in any log line."""
    import logging

    guard = LogGuard(SENSITIVE | secrets_in_config(LOCAL_CONFIG))
    root = logging.getLogger()
    ours = logging.getLogger("eventhub")
    level = ours.level  # CLI commands quiet the logger in-process; the next test gets it back
    root.addHandler(guard)
    try:
        yield
    finally:
        root.removeHandler(guard)
        ours.setLevel(level)
    guard.sensitive |= {s for s in SENSITIVE if len(s) >= 6}
    leaked = guard.violations()
    assert not leaked, f"sensitive values in log lines: {leaked[:3]}"


@pytest.fixture
def local_config() -> HubConfig:
    return load_config(LOCAL_CONFIG)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto in-process with the stack's table, bucket and spill queue created."""
    with mock_aws():
        clients = {name: boto3.client(name) for name in ("dynamodb", "s3", "sqs", "scheduler", "events")}
        # botocore sends stream calls to an account-specific endpoint that mock_aws does not serve
        clients["dynamodbstreams"] = boto3.client(
            "dynamodbstreams", config=BotoConfig(account_id_endpoint_mode="disabled")
        )
        ids = create_all(clients, ResourceNames())
        yield {**clients, **ids}


@pytest.fixture
def store(aws: dict[str, Any]) -> EventStore:
    return EventStore(aws["table"], aws["dynamodb"], BlobStore(aws["bucket"], aws["s3"]))


@pytest.fixture
def lambda_env(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Environment for calling handlers in-process against moto, config/local.json applied to
    the registry (``use_config`` applies another)."""
    monkeypatch.setenv("TABLE_NAME", aws["table"])
    monkeypatch.setenv("REGISTRY_TABLE_NAME", aws["registry"])
    monkeypatch.setenv("BUCKET_NAME", aws["bucket"])
    monkeypatch.setenv("SPILL_QUEUE_URL", aws["spill_queue_url"])
    monkeypatch.setenv("EVENT_BUS_NAME", aws["event_bus"])
    use_config(aws, load_config(LOCAL_CONFIG), monkeypatch)
    yield aws
    factory.reset()


def use_config(aws: dict[str, Any], config: HubConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``config`` what the handlers read: its connections and keys in the registry (others
    removed), its artifact limits in the environment, and no cached reads."""
    registry = RegistryTable(aws["registry"], aws["dynamodb"])
    schedules = Schedules(aws["scheduler"], schedule_target(ResourceNames()))
    _, report = apply_config(config, registry, schedules, prune=True)
    assert report.ok, report.error
    for name, value in artifact_limits(config).items():
        monkeypatch.setenv(name, value)
    factory.reset()


class FakeContext:
    function_name = "eventhub-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:eventhub-test"
    aws_request_id = "test-request"

    def __init__(self, remaining_ms: int = 300_000) -> None:
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


@pytest.fixture
def lambda_context() -> FakeContext:
    return FakeContext()
