"""One S3 multipart upload, its parts uploaded on threads, a bounded number at a time."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Protocol

from functions.errors import StoreUnavailable


class PartWriter(Protocol):
    def start_multipart(self, key: str, content_type: str) -> str: ...

    def upload_part(
        self, key: str, upload_id: str, number: int, data: bytes | bytearray
    ) -> dict[str, str]: ...

    def complete_multipart(self, key: str, upload_id: str, uploaded: list[dict[str, str]]) -> None: ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...


class MultipartUpload:
    """One multipart upload: parts go up in the background, at most ``in_flight`` at a time."""

    def __init__(self, blobs: PartWriter, key: str, content_type: str, in_flight: int) -> None:
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
