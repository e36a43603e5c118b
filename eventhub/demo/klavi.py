"""Klavi's pull queue: ``GET /data/analysis/v1/events`` with ``secretKey``; 200 one event, 201 empty."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime
from typing import Any

from eventhub.demo.base import FakeProvider, Reply, Request

PULL_PATH = "/data/analysis/v1/events"
RESULTS_PREFIX = "/results/"
DEFAULT_ARTIFACT_BASE = "https://amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com"


class KlaviFake(FakeProvider):
    """A queue that hands each event out once. ``served`` lists what left the queue, in order."""

    def __init__(
        self,
        secret_key: str = "klavi-fake-secret-key",  # noqa: S107 - a fake's default
        *,
        artifact_base: str | None = None,
        port: int = 0,
        path: str = PULL_PATH,
    ) -> None:
        super().__init__(port=port)
        self.secret_key = secret_key
        # Where presigned URLs point: this fake itself by default (it serves the files), never
        # the internet; pass DEFAULT_ARTIFACT_BASE for S3-looking URLs that nobody fetches.
        self.artifact_base = artifact_base.rstrip("/") if artifact_base else None
        self.expired_artifacts = False  # answer artifact GETs with 403, as an expired URL does
        self.path = path
        self.queue: deque[dict[str, Any]] = deque()
        self.served: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def make_event(
        self, *, event_name: str = "analysis_finished", event_type: str = "analysis"
    ) -> dict[str, Any]:
        number = next(self._ids)
        batch = f"{25872252137 + number}"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        base = self.artifact_base or self.url
        url = (
            f"{base}/results/{batch}.json?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential=AKIAEXAMPLE%2F20250226%2Fus-west-2%2Fs3%2Faws4_request"
            f"&X-Amz-Date=20250226T200817Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={number:064x}"
        )
        return {
            "partnerAppId": "12345678",
            "eventId": f"{1495468585434 + number}-0e73d1719173766fe4dfe1a8",
            "eventType": event_type,
            "eventName": event_name,
            "eventTime": now,
            "payload": {"batchId": batch, "presignedUrl": url},
        }

    def enqueue(self, count: int = 1, **kind: Any) -> list[dict[str, Any]]:
        events = [self.make_event(**kind) for _ in range(count)]
        with self.lock:
            self.queue.extend(events)
        return events

    def push(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.queue.append(event)

    def authorized(self, request: Request) -> bool:
        if request.path.startswith(RESULTS_PREFIX):
            return True  # presigned: the query string is the credential
        return request.header("secretKey") == self.secret_key

    def unauthorized(self) -> Reply:
        return Reply(
            401, {"statusCode": 401, "error": "Unauthorized", "message": "Invalid accessKey or secretKey"}
        )

    def route(self, request: Request) -> Reply:
        if request.path.startswith(RESULTS_PREFIX):
            return self._result_file(request)
        if request.method != "GET" or request.path != self.path:
            return Reply(404, {"statusCode": 404, "message": "Not Found"})
        with self.lock:
            if not self.queue:
                return Reply(201, {"statusCode": 201, "message": "No new event"})
            event = self.queue.popleft()
            self.served.append(event)
        return Reply(200, event)

    def _result_file(self, request: Request) -> Reply:
        if self.expired_artifacts or "X-Amz-Signature" not in request.query:
            return Reply(
                403,
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                {"Content-Type": "application/xml"},
            )
        batch = request.path.removeprefix(RESULTS_PREFIX).removesuffix(".json")
        return Reply(200, {"batchId": batch, "result": "fake Klavi analysis", "score": len(batch)})

    def malformed(self, kind: str, request: Request) -> Reply:
        """A pulled event that cannot be read; like any pull, it leaves the queue."""
        with self.lock:
            event = self.queue.popleft() if self.queue else self.make_event()
            self.served.append(event)
        if kind == "bad_json":
            return Reply(200, b'{"eventId": "' + event["eventId"].encode() + b'", "payload": {')
        if kind == "missing_field":
            return Reply(200, {k: v for k, v in event.items() if k != "eventId"})
        return super().malformed(kind, request)
