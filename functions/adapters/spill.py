"""The spill queue: where a pulled event goes when the event store will not take it.

A Klavi pull hands each event out once; if it cannot be stored, it is written here (SQS: the
stack's spill queue in AWS, moto's SQS on one machine) before the run gives up, and
``functions.logic.polling.recovery.restore_spilled`` stores it later. The raw body is kept
exactly as pulled (it is what the mapper needs, presigned URL included); the queue is
encrypted at rest and only the poller and the replay command can read it.

A body too large for one SQS message (256 KiB) is written to the bucket under ``spill/``
and the message carries its key.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.adapters.blob_store import BlobStore
from functions.errors import HubError, SpillUnavailable
from functions.models.spill import SpilledEvent

SPILL_PREFIX = "spill/"
MAX_INLINE_BODY = 200 * 1024  # leaves room for the envelope inside SQS's 256 KiB
FORMAT_VERSION = 1


def _encode(body: bytes) -> tuple[str, str]:
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def _decode(text: str, encoding: str) -> bytes:
    return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")


class SpillQueue:
    def __init__(self, queue_url: str, sqs_client: Any, blobs: BlobStore | None = None) -> None:
        self.queue_url = queue_url
        self.sqs = sqs_client
        self.blobs = blobs

    def spill(self, *, connection_id: str, provider: str, reason: str, received_at: str, body: bytes) -> str:
        """Write one raw event; returns the SQS message id. SpillUnavailable if it cannot."""
        envelope: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "connectionId": connection_id,
            "provider": provider,
            "reason": reason,
            "receivedAt": received_at,
        }
        if len(body) > MAX_INLINE_BODY:
            if self.blobs is None:
                raise SpillUnavailable(f"spilled body of {len(body)} bytes needs a bucket; none configured")
            key = f"{SPILL_PREFIX}{connection_id}/{uuid.uuid4()}"
            try:
                self.blobs.put(key, body, "application/octet-stream")
            except HubError as error:
                raise SpillUnavailable(f"spill bucket write failed: {error.message}") from None
            envelope["blobKey"] = key
        else:
            envelope["body"], envelope["encoding"] = _encode(body)
        try:
            sent = self.sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=json.dumps(envelope, ensure_ascii=True)
            )
        except (ClientError, BotoCoreError) as error:
            raise SpillUnavailable(f"spill queue write failed: {type(error).__name__}") from None
        return str(sent["MessageId"])

    def receive(
        self, *, max_messages: int = 10, wait_seconds: int = 1, visibility: int = 120
    ) -> list[SpilledEvent]:
        """Up to ``max_messages`` spilled events, hidden from other readers for ``visibility`` s."""
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(10, max_messages)),
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=visibility,
            )
        except (ClientError, BotoCoreError) as error:
            raise SpillUnavailable(f"spill queue read failed: {type(error).__name__}") from None
        return [self._parse(message) for message in response.get("Messages", [])]

    def drain(self, *, wait_seconds: int = 1, visibility: int = 120) -> Iterator[SpilledEvent]:
        """Every message currently visible, batch after batch, until a receive comes back empty."""
        while True:
            batch = self.receive(wait_seconds=wait_seconds, visibility=visibility)
            if not batch:
                return
            yield from batch

    def delete(self, spilled: SpilledEvent) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=spilled.receipt)
        except (ClientError, BotoCoreError) as error:
            raise SpillUnavailable(f"spill queue delete failed: {type(error).__name__}") from None
        if spilled.blob_key and self.blobs is not None:
            self.blobs.delete(spilled.blob_key)

    def _parse(self, message: dict[str, Any]) -> SpilledEvent:
        receipt = message["ReceiptHandle"]
        try:
            envelope = json.loads(message["Body"])
            blob_key = envelope.get("blobKey")
            if blob_key:
                if self.blobs is None:
                    raise SpillUnavailable("a spilled body lives in the bucket; none configured")
                body = self.blobs.get(blob_key)
            else:
                body = _decode(envelope["body"], envelope.get("encoding", "utf-8"))
            return SpilledEvent(
                connection_id=str(envelope["connectionId"]),
                provider=str(envelope["provider"]),
                reason=str(envelope.get("reason", "")),
                received_at=str(envelope["receivedAt"]),
                body=body,
                receipt=receipt,
                blob_key=blob_key,
            )
        except (ValueError, KeyError, TypeError) as error:
            # Not one of ours: surfaced as unreadable, left in the queue for a person to look at.
            return SpilledEvent(
                "", "", f"unreadable spill message ({type(error).__name__})", "", b"", receipt
            )
