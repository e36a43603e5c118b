"""Environment, read once at the edge into a typed model (handlers and the local runtime only)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

from functions.models.config import HubConfig, load_config, parse_config


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    spill_queue_url: str | None = None
    retention_days: int = 0
    # Where the hub's configuration comes from: inline JSON (AWS) or a file path (local).
    config_json: str | None = None
    config_path: str | None = None

    def load_config(self) -> HubConfig:
        if self.config_json:
            return parse_config(self.config_json)
        if self.config_path:
            return load_config(self.config_path)
        raise ValueError("EVENTHUB_CONFIG or EVENTHUB_CONFIG_PATH must be set")


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", ""),
        bucket_name=os.environ.get("BUCKET_NAME", ""),
        spill_queue_url=os.environ.get("SPILL_QUEUE_URL") or None,
        retention_days=int(os.environ.get("RETENTION_DAYS", "0") or 0),
        config_json=os.environ.get("EVENTHUB_CONFIG") or None,
        config_path=os.environ.get("EVENTHUB_CONFIG_PATH") or None,
    )
