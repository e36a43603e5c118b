"""The ``hmac`` block of a generic HMAC connection: how a sender signs, and where its event id
and type are, described by configuration alone (GitHub, Shopify, Slack and the like).

``signedContent`` is a template over ``{body}`` (the raw body, byte-exact) and ``{timestamp}``
(the timestamp header's value), e.g. Slack's ``v0:{timestamp}:{body}``. The event id comes from
``idHeader`` or ``idField`` (a JSON pointer such as ``/id``), the type from ``typeHeader`` or
``typeField``; a header, when both are named, is looked at first.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

PLACEHOLDERS = frozenset({"body", "timestamp"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# An HTTP header name (RFC 9110 token characters).
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")


class Encoding(StrEnum):
    HEX = "hex"
    BASE64 = "base64"


class Algorithm(StrEnum):
    SHA256 = "sha256"
    SHA512 = "sha512"
    SHA1 = "sha1"  # GitHub's legacy X-Hub-Signature: SHA-1 is weak; prefer sha256 where offered


def _header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise ValueError("must be an HTTP header name such as X-Hub-Signature-256")
    return value


def _json_pointer(value: str) -> str:
    """RFC 6901: empty (the whole document) is no id; otherwise "/" then reference tokens."""
    if not value.startswith("/") or re.search(r"~(?![01])", value):
        raise ValueError("must be a JSON pointer such as /id or /event/type")
    return value


HeaderName = Annotated[str, AfterValidator(_header_name)]
JsonPointer = Annotated[str, AfterValidator(_json_pointer)]


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


class HmacSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    signature_header: HeaderName
    prefix: str = Field(default="", max_length=64)
    encoding: Encoding = Encoding.HEX
    algorithm: Algorithm = Algorithm.SHA256
    signed_content: str = Field(default="{body}", min_length=1, max_length=256)
    timestamp_header: HeaderName | None = None
    tolerance_seconds: int = Field(default=300, ge=1, le=86_400)
    id_header: HeaderName | None = None
    id_field: JsonPointer | None = None
    type_header: HeaderName | None = None
    type_field: JsonPointer | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HmacSettings:
        names = placeholders(self.signed_content)
        rest = _PLACEHOLDER.sub("", self.signed_content)
        if set(names) - PLACEHOLDERS or "{" in rest or "}" in rest:
            raise ValueError("signedContent may use only the placeholders {body} and {timestamp}")
        if names.count("body") != 1:
            raise ValueError("signedContent must contain {body} exactly once")
        if "timestamp" in names and self.timestamp_header is None:
            raise ValueError("signedContent uses {timestamp}: name its timestampHeader")
        if self.id_header is None and self.id_field is None:
            raise ValueError(
                "name where the event id is (idHeader or idField): deliveries are deduplicated by it"
            )
        return self
