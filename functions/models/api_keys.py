"""An API key as the hub keeps it: its SHA-256 (hex), never the key itself.

Apart from ``models.config`` (which re-exports it) so that the query function checks a key
without building the registry's pydantic models.
"""

from __future__ import annotations

import hashlib


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
