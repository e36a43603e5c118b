"""Adapters built once per container (cached factories) from the typed settings.

Each factory imports its adapter when first called, so a function loads only the adapters its
path builds: the aggregator and the publisher never import the registry (and its pydantic
models), the secrets resolver or the blob store's multipart upload (docs/performance.md).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from functions.settings import settings

if TYPE_CHECKING:
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.counters import CounterStore
    from functions.adapters.event_bus import EventBridgeBus
    from functions.adapters.event_store import EventStore
    from functions.adapters.registry.cached import CachedRegistry, CopyView
    from functions.adapters.secrets import SecretResolver


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    # Few, quick attempts: a webhook sender retries a 5xx itself, and a request must answer
    # well inside API Gateway's 29 s.
    retry = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
    return boto3.session.Session().client(service, config=retry)


class LazyClient:
    """A boto3 client built on first use. A function whose request never touches S3 (most
    webhooks, every counter update) then does not build an S3 client in its cold start."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(client(self._service), name)


@lru_cache(maxsize=1)
def registry() -> CachedRegistry:
    """Connections and API keys, read by key from the registry table and kept for a short while."""
    from functions.adapters.registry.cached import CachedRegistry, TtlCache
    from functions.adapters.registry.table import RegistryTable

    table = RegistryTable(settings().registry_table_name, client("dynamodb"))
    return CachedRegistry(table, TtlCache(settings().registry_cache_seconds))


@lru_cache(maxsize=1)
def copy_settings() -> CopyView:
    from functions.adapters.registry.cached import CopyView

    current = settings()
    return CopyView(
        registry(),
        allow_loopback_artifacts=current.allow_loopback_artifacts,
        max_artifact_bytes=current.max_artifact_bytes,
    )


@lru_cache(maxsize=1)
def blob_store() -> BlobStore:
    from functions.adapters.blob_store import BlobStore

    return BlobStore(settings().bucket_name, LazyClient("s3"))


@lru_cache(maxsize=1)
def event_store() -> EventStore:
    from functions.adapters.event_store import EventStore

    return EventStore(
        settings().table_name, client("dynamodb"), blob_store(), retention_days=settings().retention_days
    )


@lru_cache(maxsize=1)
def event_bus() -> EventBridgeBus:
    from functions.adapters.event_bus import EventBridgeBus

    return EventBridgeBus(settings().event_bus_name, client("events"))


@lru_cache(maxsize=1)
def secret_resolver() -> SecretResolver:
    from functions.adapters.secrets import SecretResolver

    return SecretResolver()


@lru_cache(maxsize=1)
def counter_store() -> CounterStore:
    from functions.adapters.counters import CounterStore

    return CounterStore(event_store(), workers=settings().counter_workers)


def reset() -> None:
    """Forget every cached adapter (tests and the local runtime switch environments)."""
    factories = (
        client,
        registry,
        copy_settings,
        blob_store,
        event_store,
        counter_store,
        event_bus,
        secret_resolver,
    )
    for factory in factories:
        factory.cache_clear()
    settings.cache_clear()
