"""Copying an event's result files into our bucket: checked, streamed, idempotent.

For each artifact the copier reads the credentialed URL stashed at intake, checks it against
the connection's policy (``url_policy``), streams the GET into an S3 multipart upload one part
at a time (memory stays flat whatever the size) while hashing it, and records the outcome on
the event:

- ``copied``: size, sha256, content type and S3 key recorded; the stashed URL is deleted.
- ``refused``: the policy said no; no request was made.
- ``expired``: the source answered 403 (a presigned URL past its expiry); not retried.
- ``failed``: too large, a 4xx, or transient errors (5xx, connection) that outlasted the
  retries. Only the transient kind is ``retryable`` and asks the caller to retry (the stream
  copier reports the record as failed so Lambda retries it, then sends it to the DLQ).

Idempotent: a copied artifact is never fetched again, and every attempt first aborts the
incomplete multipart uploads of its key, so a re-run after a crash mid-upload completes and
leaves none behind. Extend's ``signed_data_url``: the fetched JSON becomes the event's payload.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from functions import jsonutil
from functions.adapters.artifact_source import Download, SourceUnavailable
from functions.adapters.blob_store import BlobStore, artifact_key, artifact_source_key
from functions.adapters.event_store import UNCHANGED, EventStore
from functions.errors import MalformedPayload, StoreUnavailable
from functions.logic.url_policy import (
    FetchTarget,
    Refused,
    Resolver,
    Unresolvable,
    check_url,
    redirect_url,
    resolve_host,
)
from functions.models.config import Connection, HubConfig, Provider
from functions.models.event import Artifact, ArtifactStatus, CanonicalEvent, format_timestamp, utcnow
from functions.observability import logger, metrics
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


class ArtifactSource(Protocol):
    def open(self, target: FetchTarget) -> AbstractContextManager[Download]: ...


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

    store: EventStore
    blobs: BlobStore
    source: ArtifactSource
    config: HubConfig
    resolve: Resolver = resolve_host
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


class CopyReport(BaseModel):
    event_id: str
    found: bool = True
    artifacts: list[ArtifactOutcome] = []

    @property
    def needs_retry(self) -> bool:
        return any(a.retry_later for a in self.artifacts)


# -- what to copy ------------------------------------------------------------------------------


def stream_eligible(artifact: Artifact) -> bool:
    """What a stream record asks for: pending copies, and failures a retry may cure."""
    if artifact.status is ArtifactStatus.PENDING:
        return True
    return artifact.status is ArtifactStatus.FAILED and bool(artifact.retryable)


def recopy_eligible(artifact: Artifact) -> bool:
    """What an operator's recopy retries: everything not yet copied (the policy is checked again)."""
    return artifact.status is not ArtifactStatus.COPIED


def copy_pending_artifacts(event_id: str, deps: CopyDeps) -> CopyReport:
    """The stream copier's work for one event."""
    return _copy_event(event_id, deps, stream_eligible)


def recopy_event(event_id: str, deps: CopyDeps) -> CopyReport:
    """Retry the failed, expired, refused or stuck copies of one event (``make recopy``)."""
    return _copy_event(event_id, deps, recopy_eligible)


def connection_for(event: CanonicalEvent, config: HubConfig) -> Connection | None:
    """The connection the event came through: its provider and tenant, preferring its actor id."""
    candidates = [
        c for c in config.connections if c.provider == event.source and c.tenant_id == event.tenant_id
    ]
    return next((c for c in candidates if c.id == event.actor_id), candidates[0] if candidates else None)


def artifact_hosts(event: CanonicalEvent, connection: Connection | None) -> tuple[str, ...]:
    if connection is not None and connection.artifact_hosts is not None:
        return tuple(connection.artifact_hosts)
    return DEFAULT_ARTIFACT_HOSTS.get(event.source, ())


def _copy_event(event_id: str, deps: CopyDeps, eligible: Callable[[Artifact], bool]) -> CopyReport:
    event = deps.store.get_without_payload(event_id)
    if event is None:
        logger.warning("artifact copy: event not found", extra={"event_id": event_id})
        return CopyReport(event_id=event_id, found=False)
    hosts = artifact_hosts(event, connection_for(event, deps.config))
    outcomes = [
        _copy_one(event, index, artifact, hosts, deps)
        for index, artifact in enumerate(event.artifacts)
        if eligible(artifact)
    ]
    return CopyReport(event_id=event_id, artifacts=outcomes)


# -- one artifact ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Copied:
    key: str
    size: int
    sha256: str
    content_type: str


class _Expired(Exception):
    pass


class _Permanent(Exception):
    """A failure another attempt would repeat: too large, a 4xx, a redirect loop."""


class _Transient(Exception):
    """A 5xx, 408 or 429 answer: worth another attempt."""


def _copy_one(
    event: CanonicalEvent, index: int, artifact: Artifact, hosts: Sequence[str], deps: CopyDeps
) -> ArtifactOutcome:
    key = artifact_key(event.tenant_id, event.source, event.occurred_at, event.id, artifact.name)
    stashed = deps.blobs.get_if_exists(artifact_source_key(event.id, index))
    if stashed is None:
        reason = "the source URL is no longer kept (the stash expires with the bucket's lifecycle)"
        return _record_failure(
            event, index, artifact, ArtifactStatus.FAILED, reason, retryable=False, deps=deps
        )
    url = stashed.decode("utf-8", "replace").strip()
    attempt = 0
    while True:
        attempt += 1
        try:
            copied = _transfer(url, key, hosts, deps)
            break
        except Refused as refusal:
            return _record_failure(
                event, index, artifact, ArtifactStatus.REFUSED, refusal.reason, False, deps
            )
        except _Expired:
            reason = "the source answered 403: the presigned URL has expired"
            return _record_failure(event, index, artifact, ArtifactStatus.EXPIRED, reason, False, deps)
        except _Permanent as error:
            return _record_failure(event, index, artifact, ArtifactStatus.FAILED, str(error), False, deps)
        except (_Transient, SourceUnavailable, Unresolvable, StoreUnavailable) as error:
            if attempt >= deps.retry.attempts:
                reason = f"gave up after {attempt} attempts: {error}"
                return _record_failure(event, index, artifact, ArtifactStatus.FAILED, reason, True, deps)
            logger.info(
                "artifact copy attempt failed; retrying",
                extra={"event_id": event.id, "artifact": index, "attempt": attempt, "error": str(error)},
            )
            deps.sleep(deps.retry.delay(attempt))
    return _record_copied(event, index, artifact, copied, deps)


def _transfer(url: str, key: str, hosts: Sequence[str], deps: CopyDeps) -> _Copied:
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        try:
            target = check_url(
                current, hosts, allow_loopback=deps.config.allow_loopback_artifacts, resolve=deps.resolve
            )
        except Refused as refusal:
            if hop:
                raise Refused(f"a redirect was refused: {refusal.reason}") from None
            raise
        with deps.source.open(target) as response:
            status = response.status
            if status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise _Permanent(f"the source answered {status} without a Location")
                current = redirect_url(current, location)
                continue
            if status == 403:
                raise _Expired()
            if status >= 500 or status in TRANSIENT_STATUSES:
                raise _Transient(f"the source answered {status}")
            if status != 200:
                raise _Permanent(f"the source answered {status}")
            return _stream_into(response, key, deps)
    raise _Permanent(f"more than {MAX_REDIRECTS} redirects")


def part_size_for(max_bytes: int, part_size: int = PART_SIZE) -> int:
    """The fixed part size, raised in whole MiB if the size limit needs more than 10,000 parts."""
    needed = math.ceil(max_bytes / MAX_PARTS)
    return max(part_size, math.ceil(needed / MiB) * MiB)


def _read_part(response: Download, size: int) -> bytearray:
    """Up to ``size`` bytes; fewer only at the end of the body."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    while filled < size:
        data = response.read(min(READ_SIZE, size - filled))
        if not data:
            break
        view[filled : filled + len(data)] = data
        filled += len(data)
    view.release()
    if filled < size:
        del buffer[filled:]
    return buffer


class _Digest:
    """sha256 of the parts in order. Past the first part it is computed on a thread beside the
    reading (hashlib releases the GIL), one part at a time, so it holds at most one part."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.pool: ThreadPoolExecutor | None = None
        self.pending: Future[None] | None = None

    def add(self, part: bytearray, *, beside: bool) -> None:
        if not beside:
            self.hash.update(part)
            return
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="artifact-sha256")
        if self.pending is not None:
            self.pending.result()
        self.pending = self.pool.submit(self.hash.update, part)

    def hexdigest(self) -> str:
        if self.pending is not None:
            self.pending.result()
        self.close()
        return self.hash.hexdigest()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


def _stream_into(response: Download, key: str, deps: CopyDeps) -> _Copied:
    max_bytes = deps.config.max_artifact_bytes
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise _Permanent(f"the file is {declared} bytes, over the {max_bytes}-byte limit")
    content_type = (response.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE).strip()[:255]
    part_size = part_size_for(max_bytes, deps.part_size)
    _abort_incomplete_uploads(key, deps.blobs)
    digest = _Digest()
    size = 0
    upload: _Multipart | None = None
    try:
        while True:
            part = _read_part(response, part_size)
            size += len(part)
            if size > max_bytes:
                raise _Permanent(f"the file is over the {max_bytes}-byte limit; the copy was cut off")
            digest.add(part, beside=upload is not None)
            if upload is None and len(part) < part_size:
                deps.blobs.put(key, bytes(part), content_type)  # the whole file fits in one part
                break
            if upload is None:
                upload = _Multipart(deps.blobs, key, content_type, deps.parts_in_flight)
            if part:
                upload.add(part)
            if len(part) < part_size:
                upload.complete()
                break
        sha256 = digest.hexdigest()
    except Exception:
        digest.close()
        if upload is not None:
            upload.abort()
        raise
    return _Copied(key=key, size=size, sha256=sha256, content_type=content_type)


def _abort_incomplete_uploads(key: str, blobs: BlobStore) -> None:
    """Uploads an earlier attempt left behind (a crash mid-upload) are aborted before a new one."""
    for upload_id in blobs.multipart_uploads(key):
        blobs.abort_multipart(key, upload_id)


class _Multipart:
    """One multipart upload: parts go up in the background, at most ``in_flight`` at a time."""

    def __init__(self, blobs: BlobStore, key: str, content_type: str, in_flight: int) -> None:
        self.blobs = blobs
        self.key = key
        self.in_flight = max(1, in_flight)
        self.upload_id = blobs.start_multipart(key, content_type)
        self.parts: list[Future[dict[str, str]]] = []
        self.running: deque[Future[dict[str, str]]] = deque()
        self.pool = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="artifact-part")

    def add(self, data: bytearray) -> None:
        while len(self.running) >= self.in_flight:
            self.running.popleft().result()
        number = len(self.parts) + 1
        future = self.pool.submit(self.blobs.upload_part, self.key, self.upload_id, number, data)
        self.parts.append(future)
        self.running.append(future)

    def complete(self) -> None:
        uploaded = [future.result() for future in self.parts]
        self.pool.shutdown()
        self.blobs.complete_multipart(self.key, self.upload_id, uploaded)

    def abort(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        with suppress(StoreUnavailable):
            self.blobs.abort_multipart(self.key, self.upload_id)


# -- recording outcomes --------------------------------------------------------------------------


def _not_after_copied(update: dict[str, Any]) -> Callable[[Artifact], Artifact | None]:
    """A change that never overwrites a copy another run has already recorded."""

    def change(current: Artifact) -> Artifact | None:
        if current.status is ArtifactStatus.COPIED:
            return None
        return current.model_copy(update=update)

    return change


def _record_failure(
    event: CanonicalEvent,
    index: int,
    artifact: Artifact,
    status: ArtifactStatus,
    reason: str,
    retryable: bool,
    deps: CopyDeps,
) -> ArtifactOutcome:
    update = {
        "status": status,
        "reason": reason,
        "retryable": retryable if status is ArtifactStatus.FAILED else None,
    }
    if deps.store.update_artifact(event.id, index, _not_after_copied(update)) is None:
        # Another run recorded a copy meanwhile (or the event is gone): that copy stands.
        return ArtifactOutcome(index=index, name=artifact.name, status=ArtifactStatus.COPIED)
    metric = {
        ArtifactStatus.EXPIRED: "ArtifactExpired",
        ArtifactStatus.REFUSED: "ArtifactRefused",
        ArtifactStatus.FAILED: "ArtifactFailed",
    }[status]
    metrics.add_metric(name=metric, unit="Count", value=1)
    logger.warning(
        f"artifact {status.value}",
        extra={
            "event_id": event.id,
            "correlation_id": event.correlation_id,
            "artifact": index,
            "source_url": artifact.source_url,
            "reason": reason,
        },
    )
    return ArtifactOutcome(
        index=index,
        name=artifact.name,
        status=status,
        reason=reason,
        retry_later=status is ArtifactStatus.FAILED and retryable,
    )


def _payload_of(copied: _Copied, deps: CopyDeps) -> tuple[Any, str | None]:
    """The fetched file as the event's payload (Extend's signed_data_url), or why it is not."""
    if copied.size > PAYLOAD_PARSE_LIMIT:
        return UNCHANGED, f"the payload file is over {PAYLOAD_PARSE_LIMIT} bytes; kept as a file only"
    try:
        return jsonutil.loads(deps.blobs.get(copied.key)), None
    except MalformedPayload as error:
        return UNCHANGED, f"the payload file is not usable JSON ({error.message}); kept as a file only"


def _record_copied(
    event: CanonicalEvent, index: int, artifact: Artifact, copied: _Copied, deps: CopyDeps
) -> ArtifactOutcome:
    payload, note = _payload_of(copied, deps) if artifact.is_payload else (UNCHANGED, None)
    update = {
        "status": ArtifactStatus.COPIED,
        "reason": note,
        "retryable": None,
        "s3_key": copied.key,
        "size": copied.size,
        "sha256": copied.sha256,
        "content_type": copied.content_type,
        "copied_at": format_timestamp(utcnow()),
    }
    deps.store.update_artifact(event.id, index, _not_after_copied(update), payload=payload)
    deps.blobs.delete(artifact_source_key(event.id, index))  # the credentials are no longer needed
    metrics.add_metric(name="ArtifactCopied", unit="Count", value=1)
    metrics.add_metric(name="ArtifactBytesCopied", unit="Bytes", value=copied.size)
    logger.info(
        "artifact copied",
        extra={
            "event_id": event.id,
            "correlation_id": event.correlation_id,
            "artifact": index,
            "size": copied.size,
            "sha256": copied.sha256,
            "s3_key": copied.key,
        },
    )
    return ArtifactOutcome(
        index=index, name=artifact.name, status=ArtifactStatus.COPIED, reason=note, size=copied.size
    )


def iter_outcomes(report: CopyReport) -> Iterator[str]:
    """One human-readable line per artifact (the recopy command prints these)."""
    for outcome in report.artifacts:
        detail = f" ({outcome.reason})" if outcome.reason else ""
        size = f", {outcome.size} bytes" if outcome.size is not None else ""
        yield f"artifact {outcome.index} {outcome.name}: {outcome.status.value}{size}{detail}"
