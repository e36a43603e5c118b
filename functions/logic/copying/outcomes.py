"""Recording each copy's outcome on the event, with its metric (and a warning for anything but a
copy); a recorded copy is never overwritten. A final outcome's write also removes the
credentialed URL from the item (``Artifact.keeps_source``); a failure a retry may cure, or a
refusal a corrected allowlist may lift, keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions import jsonutil
from functions.errors import MalformedPayload
from functions.logic.copying.deps import PAYLOAD_PARSE_LIMIT, ArtifactOutcome, CopyDeps
from functions.logic.copying.transfer import Copied
from functions.models.event import Artifact, ArtifactStatus, CanonicalEvent, format_timestamp, utcnow
from functions.models.store import UNCHANGED
from functions.observability import logger, metrics


def not_after_copied(update: dict[str, Any]) -> Callable[[Artifact], Artifact | None]:
    """A change that never overwrites a copy another run has already recorded."""

    def change(current: Artifact) -> Artifact | None:
        if current.status is ArtifactStatus.COPIED:
            return None
        return current.model_copy(update=update)

    return change


def record_failure(
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
    if deps.store.update_artifact(event.id, index, not_after_copied(update)) is None:
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


def payload_of(copied: Copied, deps: CopyDeps) -> tuple[Any, str | None]:
    """The fetched file as the event's payload (Extend's signed_data_url), or why it is not."""
    if copied.size > PAYLOAD_PARSE_LIMIT:
        return UNCHANGED, f"the payload file is over {PAYLOAD_PARSE_LIMIT} bytes; kept as a file only"
    try:
        return jsonutil.loads(deps.blobs.get(copied.key)), None
    except MalformedPayload as error:
        return UNCHANGED, f"the payload file is not usable JSON ({error.message}); kept as a file only"


def record_copied(
    event: CanonicalEvent,
    index: int,
    artifact: Artifact,
    copied: Copied,
    deps: CopyDeps,
    *,
    stash_key: str | None = None,
) -> ArtifactOutcome:
    """Record the copy; the same write removes the credentialed URL from the item. A URL read
    from the bucket (an event stored before URLs were kept in the item) is deleted there."""
    payload, note = payload_of(copied, deps) if artifact.is_payload else (UNCHANGED, None)
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
    deps.store.update_artifact(event.id, index, not_after_copied(update), payload=payload)
    if stash_key is not None:
        deps.blobs.delete(stash_key)  # the credentials are no longer needed
    metrics.add_metric(name="ArtifactCopied", unit="Count", value=1)
    metrics.add_metric(name="ArtifactBytesCopied", unit="Bytes", value=copied.size)
    # The copy is recorded on the event and goes on the bus (artifact.copied): at the stack's log
    # level no line is written for it, and the invocation's metric document is its one line.
    logger.debug(
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
