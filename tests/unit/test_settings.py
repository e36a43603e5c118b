"""The functions' environment, read once into a typed structure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.settings import Settings, settings

ENVIRONMENT = {"TABLE_NAME": "events", "BUCKET_NAME": "data", "REGISTRY_TABLE_NAME": "registry"}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    settings.cache_clear()
    yield
    settings.cache_clear()


def test_the_environment_is_read_with_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the required variables
    for name in (
        "SPILL_QUEUE_URL",
        "EVENT_BUS_NAME",
        "RETENTION_DAYS",
        "MAX_ARTIFACT_BYTES",
        "EVENTHUB_COUNTER_WORKERS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REGISTRY_CACHE_SECONDS", "5")
    # When the settings are read
    found = settings()
    # Then they carry the variables and the defaults
    assert (found.table_name, found.bucket_name, found.registry_table_name) == ("events", "data", "registry")
    assert found.registry_cache_seconds == 5.0
    assert found.spill_queue_url is None and found.event_bus_name == "" and found.retention_days == 0
    assert found.max_artifact_bytes == 5 * 1024**3 and found.allow_loopback_artifacts is False
    assert found.counter_workers == 8


def test_a_missing_table_name_is_refused_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an environment without TABLE_NAME
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TABLE_NAME")
    # When the settings are read, Then the error names the variable
    with pytest.raises(ValueError, match="TABLE_NAME"):
        settings()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"registry_cache_seconds": -1.0}, "REGISTRY_CACHE_SECONDS"),
        ({"max_artifact_bytes": 0}, "MAX_ARTIFACT_BYTES"),
        ({"counter_workers": 0}, "EVENTHUB_COUNTER_WORKERS"),
    ],
)
def test_out_of_range_limits_are_refused(change: dict[str, float], message: str) -> None:
    # Given a limit out of its range, When the settings are built, Then it is refused by name
    with pytest.raises(ValueError, match=message):
        Settings(table_name="t", bucket_name="b", registry_table_name="r", **change)  # type: ignore[arg-type]
