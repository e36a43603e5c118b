"""Environment, read once at the edge into a typed model (handlers and the local runtime only).

Connections and API keys are not here: the functions read them from the registry table by key
(``adapters.registry``), so the environment stays the same size whatever the registry holds.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

from functions.adapters.registry.cached import DEFAULT_TTL_SECONDS


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    registry_table_name: str = Field(min_length=1)
    registry_cache_seconds: float = Field(default=DEFAULT_TTL_SECONDS, ge=0)
    spill_queue_url: str | None = None
    event_bus_name: str = ""  # the publisher's bus
    retention_days: int = 0
    max_artifact_bytes: int = Field(default=5 * 1024**3, ge=1)
    # Local runs only: the provider fakes serve files on 127.0.0.1 (the stack refuses it).
    allow_loopback_artifacts: bool = False


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
    )
