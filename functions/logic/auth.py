"""API keys: presented as ``X-API-Key``, ``Authorization: Bearer`` or the ``vai_token`` cookie."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from functions.errors import Unauthorized
from functions.models.config import hash_api_key


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


def authenticate(headers: Mapping[str, str], tenants_by_hash: Mapping[str, str]) -> str:
    """The tenant of the presented key. Every stored hash is compared, in constant time."""
    key = presented_key(headers)
    if key is None:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer")
    digest = hash_api_key(key)
    tenant = None
    for stored, candidate in tenants_by_hash.items():
        if hmac.compare_digest(stored, digest):
            tenant = candidate
    if tenant is None:
        raise Unauthorized("invalid API key")
    return tenant
