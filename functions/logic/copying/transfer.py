"""One transfer: the URL checked and followed through redirects, the body streamed into our bucket
(one part at a time, hashed beside the reading).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from functions.logic.copying.deps import (
    DEFAULT_CONTENT_TYPE,
    MAX_PARTS,
    MAX_REDIRECTS,
    PART_SIZE,
    READ_SIZE,
    REDIRECT_STATUSES,
    TRANSIENT_STATUSES,
    CopyDeps,
    MiB,
)
from functions.logic.url_policy import Refused, check_url, redirect_url
from functions.ports.artifacts import ArtifactBlobs, Download, Upload


@dataclass(frozen=True)
class Copied:
    key: str
    size: int
    sha256: str
    content_type: str


class SourceExpired(Exception):
    pass


class PermanentFailure(Exception):
    """A failure another attempt would repeat: too large, a 4xx, a redirect loop."""


class TransientFailure(Exception):
    """A 5xx, 408 or 429 answer: worth another attempt."""


def transfer(url: str, key: str, hosts: Sequence[str], deps: CopyDeps) -> Copied:
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
                    raise PermanentFailure(f"the source answered {status} without a Location")
                current = redirect_url(current, location)
                continue
            if status == 403:
                raise SourceExpired()
            if status >= 500 or status in TRANSIENT_STATUSES:
                raise TransientFailure(f"the source answered {status}")
            if status != 200:
                raise PermanentFailure(f"the source answered {status}")
            return stream_into(response, key, deps)
    raise PermanentFailure(f"more than {MAX_REDIRECTS} redirects")


def part_size_for(max_bytes: int, part_size: int = PART_SIZE) -> int:
    """The fixed part size, raised in whole MiB if the size limit needs more than 10,000 parts."""
    needed = math.ceil(max_bytes / MAX_PARTS)
    return max(part_size, math.ceil(needed / MiB) * MiB)


def read_part(response: Download, size: int) -> bytearray:
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


class PartsDigest:
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


def stream_into(response: Download, key: str, deps: CopyDeps) -> Copied:
    max_bytes = deps.config.max_artifact_bytes
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise PermanentFailure(f"the file is {declared} bytes, over the {max_bytes}-byte limit")
    content_type = (response.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE).strip()[:255]
    part_size = part_size_for(max_bytes, deps.part_size)
    digest = PartsDigest()
    size = 0
    upload: Upload | None = None
    try:
        while True:
            part = read_part(response, part_size)
            size += len(part)
            if size > max_bytes:
                raise PermanentFailure(f"the file is over the {max_bytes}-byte limit; the copy was cut off")
            digest.add(part, beside=upload is not None)
            if upload is None and len(part) < part_size:
                deps.blobs.put(key, bytes(part), content_type)  # the whole file fits in one part
                break
            if upload is None:
                # Only a file of several parts can have left an upload behind (a crash mid-copy):
                # a one-part file is one PUT, and lists nothing (a LIST is billed as a PUT).
                abort_incomplete_uploads(key, deps.blobs)
                upload = deps.blobs.multipart(key, content_type, in_flight=deps.parts_in_flight)
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
    return Copied(key=key, size=size, sha256=sha256, content_type=content_type)


def abort_incomplete_uploads(key: str, blobs: ArtifactBlobs) -> None:
    """Uploads an earlier attempt left behind (a crash mid-upload) are aborted before a new one."""
    for upload_id in blobs.multipart_uploads(key):
        blobs.abort_multipart(key, upload_id)
