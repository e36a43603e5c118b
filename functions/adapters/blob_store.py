"""S3: oversized payloads, the artifact URLs' credentials, and artifact copies."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.errors import StoreUnavailable

PAYLOAD_PREFIX = "payloads/"
ARTIFACT_SOURCE_PREFIX = "artifact-sources/"  # credentialed URLs; expire with a lifecycle rule


class BlobStore:
    def __init__(self, bucket: str, s3_client: Any) -> None:
        self.bucket = bucket
        self.s3 = s3_client

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, ServerSideEncryption="AES256"
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store write failed: {type(error).__name__}") from None

    def get(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store read failed: {type(error).__name__}") from None

    def delete(self, key: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError):
            pass  # best effort: the lifecycle rules clean up what is left

    def presign_get(self, key: str, expires_in: int = 300) -> str:
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )


def payload_key(tenant_id: str, event_id: str, digest: str) -> str:
    return f"{PAYLOAD_PREFIX}{tenant_id}/{event_id}/{digest}.json"


def artifact_source_key(event_id: str, index: int) -> str:
    return f"{ARTIFACT_SOURCE_PREFIX}{event_id}/{index}"
