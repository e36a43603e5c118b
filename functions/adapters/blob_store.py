"""S3: oversized payloads, the artifact URLs' credentials, and artifact copies."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.adapters.multipart_upload import MultipartUpload
from functions.errors import StoreUnavailable


class BlobStore:
    def __init__(self, bucket: str, s3_client: Any) -> None:
        self.bucket = bucket
        self.s3 = s3_client

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ServerSideEncryption="AES256",
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store write failed: {type(error).__name__}") from None

    def get(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store read failed: {type(error).__name__}") from None

    def delete(self, key: str) -> None:
        # Best effort: the bucket's lifecycle rules clean up what is left.
        with contextlib.suppress(ClientError, BotoCoreError):
            self.s3.delete_object(Bucket=self.bucket, Key=key)

    def presign_get(self, key: str, expires_in: int = 300, download_name: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        return self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def get_if_exists(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is no such object."""
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise StoreUnavailable(f"blob store read failed: {type(error).__name__}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"blob store read failed: {type(error).__name__}") from None

    # -- multipart uploads: artifact copies stream through these, one part at a time ----------

    def start_multipart(self, key: str, content_type: str) -> str:
        """A multipart upload whose parts S3 verifies by their CRC32 (as boto3's transfers do)."""
        try:
            response = self.s3.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType=content_type,
                ServerSideEncryption="AES256",
                ChecksumAlgorithm="CRC32",
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store write failed: {type(error).__name__}") from None
        return response["UploadId"]

    def multipart(self, key: str, content_type: str, *, in_flight: int) -> MultipartUpload:
        """A multipart upload of ``key`` whose parts go up in the background, ``in_flight`` at most."""
        return MultipartUpload(self, key, content_type, in_flight)

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes | bytearray) -> dict[str, str]:
        """Upload part ``number`` (1-based); returns what completing the upload needs of it."""
        try:
            response = self.s3.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="CRC32",
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store write failed: {type(error).__name__}") from None
        part = {"ETag": response["ETag"]}
        if response.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = response["ChecksumCRC32"]
        return part

    def complete_multipart(self, key: str, upload_id: str, uploaded: list[dict[str, str]]) -> None:
        parts = [{**part, "PartNumber": number} for number, part in enumerate(uploaded, start=1)]
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store write failed: {type(error).__name__}") from None

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchUpload":
                raise StoreUnavailable(f"blob store abort failed: {type(error).__name__}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"blob store abort failed: {type(error).__name__}") from None

    def multipart_uploads(self, key: str) -> list[str]:
        """Upload ids of the incomplete multipart uploads of exactly this key."""
        found: list[str] = []
        params = {"Bucket": self.bucket, "Prefix": key}
        try:
            while True:
                response = self.s3.list_multipart_uploads(**params)
                found += [u["UploadId"] for u in response.get("Uploads", []) if u["Key"] == key]
                if not response.get("IsTruncated"):
                    return found
                params["KeyMarker"] = response["NextKeyMarker"]
                params["UploadIdMarker"] = response["NextUploadIdMarker"]
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(f"blob store list failed: {type(error).__name__}") from None
