"""What copying needs: the source of a result file, DNS, the bucket and the event's artifacts.

Implemented by ``adapters.artifact_source``, ``adapters.dns``, ``adapters.blob_store`` and
``adapters.event_store``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from functions.models.event import Artifact
from functions.models.fetch import FetchTarget
from functions.models.store import ToCopy

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port)`` -> every address the host resolves to; raises ``Unresolvable``."""


class Download(Protocol):
    """A streamed GET response; read errors surface as ``SourceUnavailable``."""

    status: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    def read(self, amount: int) -> bytes: ...


class ArtifactSource(Protocol):
    def open(self, target: FetchTarget) -> AbstractContextManager[Download]:
        """GET the checked URL from one of its checked addresses, redirects not followed."""
        ...


class Upload(Protocol):
    """One multipart upload in progress: parts go up in order; complete or abort ends it."""

    def add(self, data: bytearray) -> None: ...

    def complete(self) -> None: ...

    def abort(self) -> None: ...


class ArtifactBlobs(Protocol):
    def get(self, key: str) -> bytes: ...

    def get_if_exists(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def multipart(self, key: str, content_type: str, *, in_flight: int) -> Upload: ...

    def multipart_uploads(self, key: str) -> list[str]:
        """Ids of the unfinished multipart uploads of ``key``."""
        ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...


class ArtifactRecords(Protocol):
    def get_for_copy(self, event_id: str) -> ToCopy | None:
        """The event without its payload, and the credentialed URLs its item still keeps."""
        ...

    def update_artifact(
        self,
        event_id: str,
        index: int,
        change: Callable[[Artifact], Artifact | None],
        *,
        payload: Any = ...,
    ) -> Artifact | None:
        """Read-modify-write one artifact under an optimistic lock (None: left alone)."""
        ...
