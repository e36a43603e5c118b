"""Domain errors. Each carries the HTTP status it maps to; handlers map them in one place."""

from __future__ import annotations


class HubError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownConnection(HubError):
    status_code = 404
    code = "unknown_connection"


class PayloadTooLarge(HubError):
    status_code = 413
    code = "payload_too_large"


class SignatureError(HubError):
    status_code = 401
    code = "invalid_signature"


class MalformedPayload(HubError):
    status_code = 400
    code = "malformed_payload"


class Unauthorized(HubError):
    status_code = 401
    code = "unauthorized"


class NotFound(HubError):
    status_code = 404
    code = "not_found"


class StoreUnavailable(HubError):
    """The event store (DynamoDB or S3) refused or failed a write: the caller should retry."""

    status_code = 503
    code = "store_unavailable"


class SecretsUnavailable(HubError):
    """No secret could be read and none is cached: a server fault, never a 401."""

    status_code = 503
    code = "secrets_unavailable"
