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


class MethodNotAllowed(HubError):
    """A known path asked with a method it does not take; ``allow`` lists the ones it does."""

    status_code = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class BusUnavailable(HubError):
    """The event bus refused or failed a PutEvents call: the stream batch is retried."""

    status_code = 503
    code = "bus_unavailable"


class StoreUnavailable(HubError):
    """The event store (DynamoDB or S3) refused or failed a write: the caller should retry."""

    status_code = 503
    code = "store_unavailable"


class SecretsUnavailable(HubError):
    """No secret could be read and none is cached: a server fault, never a 401."""

    status_code = 503
    code = "secrets_unavailable"


class Unresolvable(Exception):
    """A result file's host name did not resolve: transient, retried like a connection error."""


class SourceUnavailable(Exception):
    """A result file's source broke off (connection error, timeout, broken body): transient."""


class ProviderError(HubError):
    """A provider API answered something we cannot use (a bad status, a malformed page)."""

    status_code = 502
    code = "provider_error"


class ProviderAuthFailed(ProviderError):
    """The provider refused our credential (401/403). Retrying cannot help."""

    code = "provider_auth_failed"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProviderUnavailable(ProviderError):
    """The provider kept failing (5xx, 429, timeouts, connection errors) through every retry."""

    status_code = 503
    code = "provider_unavailable"


class MalformedPage(ProviderError):
    """A page (or a pulled event) that is not what the provider's API promises."""

    code = "malformed_page"


class EventSpilled(HubError):
    """A pulled event could not be stored; it is safe in the spill queue and the run stopped."""

    status_code = 503
    code = "event_spilled"


class SpillUnavailable(HubError):
    """Neither the store nor the spill location would take the event."""

    status_code = 503
    code = "spill_unavailable"
