"""Environment, read once at the edge into a typed structure (handlers and the local runtime only).

Connections and API keys are not here: the functions read them from the registry table by key
(``adapters.registry``), so the environment stays the same size whatever the registry holds.

A frozen dataclass checked by hand, not a pydantic model: ten values need no schema, and a
function whose path has no other pydantic model (the aggregator) would otherwise import pydantic
for these alone, about a third of a bare boto3 cold start (docs/performance.md, "Cold start").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from functions.adapters.registry.cached import DEFAULT_TTL_SECONDS

# The settings every function needs, by the variable each is read from.
_REQUIRED = {
    "table_name": "TABLE_NAME",
    "bucket_name": "BUCKET_NAME",
    "registry_table_name": "REGISTRY_TABLE_NAME",
}


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    registry_table_name: str
    registry_cache_seconds: float = DEFAULT_TTL_SECONDS
    spill_queue_url: str | None = None
    event_bus_name: str = ""  # the publisher's bus
    retention_days: int = 0
    max_artifact_bytes: int = 5 * 1024**3
    # Local runs only: the provider fakes serve files on 127.0.0.1 (the stack refuses it).
    allow_loopback_artifacts: bool = False
    # Counter writes of one aggregator batch, or actor reads of one stats range, in flight at once.
    counter_workers: int = 8

    def __post_init__(self) -> None:
        missing = [variable for name, variable in _REQUIRED.items() if not getattr(self, name)]
        if missing:
            raise ValueError(f"the function's environment lacks {', '.join(missing)}")
        if self.registry_cache_seconds < 0:
            raise ValueError("REGISTRY_CACHE_SECONDS must be >= 0")
        if self.max_artifact_bytes < 1:
            raise ValueError("MAX_ARTIFACT_BYTES must be >= 1")
        if self.counter_workers < 1:
            raise ValueError("EVENTHUB_COUNTER_WORKERS must be >= 1")


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", ""),
        bucket_name=os.environ.get("BUCKET_NAME", ""),
        registry_table_name=os.environ.get("REGISTRY_TABLE_NAME", ""),
        registry_cache_seconds=float(os.environ.get("REGISTRY_CACHE_SECONDS") or DEFAULT_TTL_SECONDS),
        spill_queue_url=os.environ.get("SPILL_QUEUE_URL") or None,
        event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
        retention_days=int(os.environ.get("RETENTION_DAYS", "0") or 0),
        max_artifact_bytes=int(os.environ.get("MAX_ARTIFACT_BYTES") or 5 * 1024**3),
        allow_loopback_artifacts=os.environ.get("ALLOW_LOOPBACK_ARTIFACTS", "") == "true",
        counter_workers=int(os.environ.get("EVENTHUB_COUNTER_WORKERS") or 8),
    )
