"""The adapters and settings one copy needs, and the sizes and limits of a transfer."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from functions.models.config import Provider
from functions.models.event import ArtifactStatus
from functions.ports.artifacts import (
    ArtifactBlobs,
    ArtifactRecords,
    ArtifactSource,
    Resolver,
)
from functions.ports.registry import CopySettings
from functions.providers import extend, klavi

MiB = 1024 * 1024


PART_SIZE = 8 * MiB


READ_SIZE = 1 * MiB


MAX_PARTS = 10_000


PARTS_IN_FLIGHT = 4


MAX_REDIRECTS = 3


# An Extend payload file above this stays a file; the event keeps the signed_data_url pointer.
PAYLOAD_PARSE_LIMIT = 32 * MiB


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


TRANSIENT_STATUSES = frozenset({408, 425, 429})


DEFAULT_CONTENT_TYPE = "application/octet-stream"


DEFAULT_ARTIFACT_HOSTS: Mapping[str, tuple[str, ...]] = {
    Provider.KLAVI.value: tuple(klavi.DEFAULT_ARTIFACT_HOSTS),
    Provider.EXTEND.value: tuple(extend.DEFAULT_ARTIFACT_HOSTS),
}


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per copy, with full-jitter exponential backoff between them."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass
class CopyDeps:
    """The adapters and settings one copy needs."""

    store: ArtifactRecords
    blobs: ArtifactBlobs
    source: ArtifactSource
    config: CopySettings  # the connection of an event, the stack's artifact limits
    resolve: Resolver  # adapters.dns.resolve_host in AWS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    part_size: int = PART_SIZE
    parts_in_flight: int = PARTS_IN_FLIGHT


class ArtifactOutcome(BaseModel):
    index: int
    name: str
    status: ArtifactStatus
    reason: str | None = None
    size: int | None = None
    retry_later: bool = False
