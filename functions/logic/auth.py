"""API keys: presented as ``X-API-Key``, ``Authorization: Bearer`` or the ``vai_token`` cookie."""

from __future__ import annotations

from collections.abc import Mapping

from functions.errors import Unauthorized
from functions.models.api_keys import hash_api_key
from functions.ports.registry import ApiKeys


def presented_key(headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-api-key"):
        return lowered["x-api-key"].strip()
    scheme, _, token = lowered.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for part in lowered.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "vai_token" and value:
            return value
    return None


def authenticate(headers: Mapping[str, str], keys: ApiKeys) -> str:
    """The tenant of the presented key, looked up by the key's SHA-256. The lookup compares
    digests, never keys: its timing tells nothing about a key that was not already known."""
    key = presented_key(headers)
    if key is None:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer")
    tenant = keys.tenant_for(hash_api_key(key))
    if tenant is None:
        raise Unauthorized("invalid API key")
    return tenant
