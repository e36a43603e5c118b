"""How the data bucket's objects are named: payloads, credentialed source URLs, our copies."""

from __future__ import annotations

from urllib.parse import quote

PAYLOAD_PREFIX = "payloads/"
ARTIFACT_SOURCE_PREFIX = "artifact-sources/"  # credentialed URLs; expire with a lifecycle rule
ARTIFACT_PREFIX = "artifacts/"  # our copies of the result files


def payload_key(tenant_id: str, event_id: str, digest: str) -> str:
    return f"{PAYLOAD_PREFIX}{tenant_id}/{event_id}/{digest}.json"


def artifact_source_key(event_id: str, index: int) -> str:
    return f"{ARTIFACT_SOURCE_PREFIX}{event_id}/{index}"


def artifact_key(tenant_id: str, source: str, occurred_at: str, event_id: str, name: str) -> str:
    """``artifacts/{tenantId}/{source}/{yyyy}/{mm}/{dd}/{eventId}/{name}``, each part kept to one segment."""
    year, month, day = occurred_at[:4], occurred_at[5:7], occurred_at[8:10]
    parts = (tenant_id, source, year, month, day, event_id, name)
    return ARTIFACT_PREFIX + "/".join(quote(part, safe="-_.~@+=,") or "_" for part in parts)
