"""How the data bucket's objects are named: payloads, our copies, and credentialed source URLs
(of events stored before those were kept in the item)."""

from __future__ import annotations

from urllib.parse import quote

PAYLOAD_PREFIX = "payloads/"
# Credentialed URLs of events stored before they were kept in the event's item; read by the
# copier for those events, expired by a lifecycle rule, never written any more.
ARTIFACT_SOURCE_PREFIX = "artifact-sources/"
ARTIFACT_PREFIX = "artifacts/"  # our copies of the result files


def payload_key(tenant_id: str, event_id: str, digest: str) -> str:
    return f"{PAYLOAD_PREFIX}{tenant_id}/{event_id}/{digest}.json"


def artifact_source_key(event_id: str, index: int, attempt: str | None = None) -> str:
    """Where artifact ``index``'s credentialed URL was kept for the copier, by events stored
    before the URL was kept in their item.

    ``attempt`` names the store write that kept it (``artifact-sources/{eventId}/{attempt}/{n}``),
    so a duplicate delivery's URL can never replace the one the stored item points at. Without
    it, the key of events stored before keys were per attempt (``artifact-sources/{eventId}/{n}``).
    """
    if attempt is None:
        return f"{ARTIFACT_SOURCE_PREFIX}{event_id}/{index}"
    return f"{ARTIFACT_SOURCE_PREFIX}{event_id}/{attempt}/{index}"


def artifact_key(tenant_id: str, source: str, occurred_at: str, event_id: str, name: str) -> str:
    """``artifacts/{tenantId}/{source}/{yyyy}/{mm}/{dd}/{eventId}/{name}``, each part kept to one segment."""
    year, month, day = occurred_at[:4], occurred_at[5:7], occurred_at[8:10]
    parts = (tenant_id, source, year, month, day, event_id, name)
    return ARTIFACT_PREFIX + "/".join(quote(part, safe="-_.~@+=,") or "_" for part in parts)
