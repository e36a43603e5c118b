"""One copier run: which artifacts of an event to copy, each copied with retries, and the report."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from pydantic import BaseModel

from functions.errors import SourceUnavailable, StoreUnavailable, Unresolvable
from functions.logic.copying.deps import DEFAULT_ARTIFACT_HOSTS, ArtifactOutcome, CopyDeps
from functions.logic.copying.outcomes import record_copied, record_failure
from functions.logic.copying.transfer import PermanentFailure, SourceExpired, TransientFailure, transfer
from functions.logic.url_policy import Refused
from functions.models.blob_keys import artifact_key, artifact_source_key
from functions.models.config import Connection
from functions.models.event import Artifact, ArtifactStatus, CanonicalEvent
from functions.observability import logger
from functions.ports.registry import Connections


class CopyReport(BaseModel):
    event_id: str
    found: bool = True
    artifacts: list[ArtifactOutcome] = []

    @property
    def needs_retry(self) -> bool:
        return any(a.retry_later for a in self.artifacts)


def stream_eligible(artifact: Artifact) -> bool:
    """What a stream record asks for: pending copies, and failures a retry may cure (the
    artifacts whose item still keeps their source URL)."""
    return artifact.needs_source


def recopy_eligible(artifact: Artifact) -> bool:
    """What an operator's recopy retries: everything not yet copied (the policy is checked again)."""
    return artifact.status is not ArtifactStatus.COPIED


def copy_pending_artifacts(event_id: str, deps: CopyDeps) -> CopyReport:
    """The stream copier's work for one event."""
    return copy_event(event_id, deps, stream_eligible)


def recopy_event(event_id: str, deps: CopyDeps) -> CopyReport:
    """Retry the failed, expired, refused or stuck copies of one event (``make recopy``)."""
    return copy_event(event_id, deps, recopy_eligible)


def connection_for(event: CanonicalEvent, config: Connections) -> Connection | None:
    """The connection the event came through (a provider's events carry its id as their actor),
    if it is still enabled and still the event's provider and tenant."""
    connection = config.connection(event.actor_id) if event.actor_id else None
    if connection is None or connection.provider != event.source or connection.tenant_id != event.tenant_id:
        return None
    return connection


def artifact_hosts(event: CanonicalEvent, connection: Connection | None) -> tuple[str, ...]:
    if connection is not None and connection.artifact_hosts is not None:
        return tuple(connection.artifact_hosts)
    return DEFAULT_ARTIFACT_HOSTS.get(event.source, ())


def copy_event(event_id: str, deps: CopyDeps, eligible: Callable[[Artifact], bool]) -> CopyReport:
    found = deps.store.get_for_copy(event_id)
    if found is None:
        logger.warning("artifact copy: event not found", extra={"event_id": event_id})
        return CopyReport(event_id=event_id, found=False)
    event = found.event
    hosts = artifact_hosts(event, connection_for(event, deps.config))
    outcomes = [
        copy_one(event, index, artifact, found.source_urls.get(index), hosts, deps)
        for index, artifact in enumerate(event.artifacts)
        if eligible(artifact)
    ]
    return CopyReport(event_id=event_id, artifacts=outcomes)


def stashed_url(
    event: CanonicalEvent, index: int, artifact: Artifact, deps: CopyDeps
) -> tuple[str | None, str]:
    """(URL or None, key) of an event stored before URLs were kept in the item: its URL was
    stashed in the bucket, under the key its artifact names or, older still, a fixed one."""
    key = artifact.source_key or artifact_source_key(event.id, index)
    stashed = deps.blobs.get_if_exists(key)
    return (None if stashed is None else stashed.decode("utf-8", "replace").strip()), key


def copy_one(
    event: CanonicalEvent,
    index: int,
    artifact: Artifact,
    kept_url: str | None,
    hosts: Sequence[str],
    deps: CopyDeps,
) -> ArtifactOutcome:
    """Copy one artifact from ``kept_url`` (the URL its item keeps) or, for an event stored before
    URLs were kept in the item, from the URL stashed in the bucket."""
    key = artifact_key(event.tenant_id, event.source, event.occurred_at, event.id, artifact.name)
    url, stash_key = (kept_url, None) if kept_url else stashed_url(event, index, artifact, deps)
    if url is None:
        if not artifact.keeps_source:  # a recopy of a final outcome: the URL went with it
            reason = f"not retried: the source URL was dropped when the copy ended {artifact.status.value}"
            return ArtifactOutcome(index=index, name=artifact.name, status=artifact.status, reason=reason)
        reason = "the source URL is no longer kept"
        return record_failure(
            event, index, artifact, ArtifactStatus.FAILED, reason, retryable=False, deps=deps
        )
    attempt = 0
    while True:
        attempt += 1
        try:
            copied = transfer(url, key, hosts, deps)
            break
        except Refused as refusal:
            return record_failure(event, index, artifact, ArtifactStatus.REFUSED, refusal.reason, False, deps)
        except SourceExpired:
            reason = "the source answered 403: the presigned URL has expired"
            return record_failure(event, index, artifact, ArtifactStatus.EXPIRED, reason, False, deps)
        except PermanentFailure as error:
            return record_failure(event, index, artifact, ArtifactStatus.FAILED, str(error), False, deps)
        except (TransientFailure, SourceUnavailable, Unresolvable, StoreUnavailable) as error:
            if attempt >= deps.retry.attempts:
                reason = f"gave up after {attempt} attempts: {error}"
                return record_failure(event, index, artifact, ArtifactStatus.FAILED, reason, True, deps)
            logger.info(
                "artifact copy attempt failed; retrying",
                extra={"event_id": event.id, "artifact": index, "attempt": attempt, "error": str(error)},
            )
            deps.sleep(deps.retry.delay(attempt))
    return record_copied(event, index, artifact, copied, deps, stash_key=stash_key)


def iter_outcomes(report: CopyReport) -> Iterator[str]:
    """One human-readable line per artifact (the recopy command prints these)."""
    for outcome in report.artifacts:
        detail = f" ({outcome.reason})" if outcome.reason else ""
        size = f", {outcome.size} bytes" if outcome.size is not None else ""
        yield f"artifact {outcome.index} {outcome.name}: {outcome.status.value}{size}{detail}"
