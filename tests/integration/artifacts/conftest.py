"""Artifacts: a real HTTP server on 127.0.0.1 as the provider's file host, moto as S3 and DynamoDB."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.adapters.artifact_source import Download, HttpArtifactSource
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from functions.logic.copying.deps import CopyDeps, RetryPolicy
from functions.models.config import Connection, HubConfig, Provider
from functions.models.event import Channel
from functions.models.fetch import FetchTarget
from functions.providers import extend, klavi
from functions.providers.base import Delivery
from tests.conftest import sensitive

MiB = 1024 * 1024
# The presigned query string the provider hands out: its credentials must never be stored or logged.
SIGNATURE = "c0ffee5ecret5ignature0123456789abcdef"
CREDENTIAL = "AKIAPROVIDERKEY123456"
sensitive(SIGNATURE, CREDENTIAL)
PRESIGNED_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={CREDENTIAL}%2F20250226%2Fsa-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20250226T200817Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    f"&X-Amz-Signature={SIGNATURE}"
)
RECEIVED = datetime(2025, 2, 26, 20, 8, 20, tzinfo=UTC)


def pattern_bytes(size: int, seed: int = 7) -> Iterator[bytes]:
    """A deterministic, incompressible-looking byte stream, produced in 64 KiB blocks."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    full, rest = divmod(size, len(block))
    for n in range(full):
        yield bytes([n % 251]) + block[1:]
    if rest:
        yield (bytes([full % 251]) + block[1:])[:rest]


def pattern_digest(size: int, seed: int = 7) -> str:
    digest = hashlib.sha256()
    for chunk in pattern_bytes(size, seed):
        digest.update(chunk)
    return digest.hexdigest()


KLAVI = Connection(
    id="klavi-pull", provider=Provider.KLAVI, tenant_id="acme", secrets=["klavi-dev-secret-key"]
)
EXTEND = Connection(
    id="extend-dev", provider=Provider.EXTEND, tenant_id="acme", secrets=["wss_dev_extend_signing_secret"]
)


def hub_config(**overrides: Any) -> HubConfig:
    values: dict[str, Any] = {"connections": [KLAVI, EXTEND], "allow_loopback_artifacts": True}
    values.update(overrides)
    return HubConfig(**values)


class SpySource:
    """The real HTTP source, remembering every target it was asked to open."""

    def __init__(self) -> None:
        self.inner = HttpArtifactSource(connect_timeout=2, read_timeout=10)
        self.opened: list[FetchTarget] = []

    @contextmanager
    def open(self, target: FetchTarget) -> Iterator[Download]:
        self.opened.append(target)
        with self.inner.open(target) as response:
            yield response


@dataclass
class Copying:
    store: EventStore
    blobs: BlobStore
    source: SpySource
    config: HubConfig
    sleeps: list[float] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    resolve_to: dict[str, list[str]] = field(default_factory=dict)

    def resolve(self, host: str, port: int) -> list[str]:
        self.resolved.append(host)
        return self.resolve_to.get(host, ["93.184.216.34"])

    def deps(self, **overrides: Any) -> CopyDeps:
        values: dict[str, Any] = {
            "store": self.store,
            "blobs": self.blobs,
            "source": self.source,
            "config": self.config,
            "resolve": self.resolve,
            "retry": RetryPolicy(attempts=3, base_delay=0.01),
            "sleep": self.sleeps.append,
            "part_size": 5 * MiB,
        }
        values.update(overrides)
        return CopyDeps(**values)

    def klavi_event(self, url: str, event_id: str = "evt-1", connection: Connection = KLAVI) -> str:
        envelope = {
            "partnerAppId": "app-1",
            "eventId": event_id,
            "eventType": "analysis",
            "eventName": "analysis_finished",
            "eventTime": "2025-02-26T20:08:17.848Z",
            "payload": {"batchId": "batch-42", "presignedUrl": url},
        }
        new = klavi.map_event(envelope, connection, RECEIVED, Channel.POLL)
        self.store.put(new)
        return new.event.id

    def extend_event(self, url: str, event_id: str = "evt_ext_1") -> str:
        body = {
            "eventId": event_id,
            "eventType": "extract_run.processed",
            "payload": {"object": "signed_data_url", "data": url, "id": "exr_1", "metadata": {}},
        }
        new = extend.map_webhook(body, Delivery(headers={}, body=b"", received_at=RECEIVED), EXTEND)
        self.store.put(new)
        return new.event.id

    def object_keys(self, prefix: str = "") -> list[str]:
        listed = self.blobs.s3.list_objects_v2(Bucket=self.blobs.bucket, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]

    def incomplete_uploads(self) -> list[dict[str, Any]]:
        return self.blobs.s3.list_multipart_uploads(Bucket=self.blobs.bucket).get("Uploads", [])


@pytest.fixture(autouse=True)
def _quiet_provider_server() -> Iterator[None]:
    """The fake provider's access log prints the presigned URLs it serves: that is the
    provider's log, not ours, so it stays out of the suite's log guard."""
    import logging

    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    yield
    werkzeug.setLevel(level)


@pytest.fixture
def copying(aws: dict[str, Any]) -> Copying:
    blobs = BlobStore(aws["bucket"], aws["s3"])
    store = EventStore(aws["table"], aws["dynamodb"], blobs)
    return Copying(store=store, blobs=blobs, source=SpySource(), config=hub_config())


def presigned(base: str) -> str:
    return f"{base}?{PRESIGNED_QUERY}"


Respond = Callable[..., Any]
