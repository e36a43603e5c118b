"""The plan of a configuration file against the registry: what to add, update and remove.

The file is the same JSON schema as ever (``models.config.HubConfig``). Connections and keys the
file names are made to match it (a connection the file names is enabled); with ``prune``, what
the file no longer names is removed. Poll connections' schedules follow their connections.
Applying the plan a second time plans nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from eventhub.registry.schedules import rate_of
from functions.adapters.registry.items import ConnectionRecord, KeyRecord, connection_body
from functions.models.config import ApiKey, Connection, HubConfig

Verb = Literal["add", "update", "remove"]
Kind = Literal["connection", "key", "schedule"]


@dataclass(frozen=True)
class Change:
    verb: Verb
    kind: Kind
    name: str
    detail: str = ""
    connection: Connection | None = None
    key: KeyRecord | None = None

    def line(self) -> str:
        sign = {"add": "+", "update": "~", "remove": "-"}[self.verb]
        return f"{sign} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")


def key_label(record: KeyRecord) -> str:
    """How a key is named in plans and listings: never the key, never its whole hash."""
    shown = f"…{record.last4}" if record.last4 else f"sha256:{record.key_hash[:8]}"
    return f"{record.tenant_id}/{record.name or shown}"


def key_record(key: ApiKey, now: datetime) -> KeyRecord:
    return KeyRecord(
        key_hash=key.digest,
        tenant_id=key.tenant_id,
        name=key.name or "",
        created_at=now.isoformat(),
        last4=key.key[-4:] if key.key else "",
    )


def plan(
    desired: HubConfig,
    connections: Iterable[ConnectionRecord],
    keys: Iterable[KeyRecord],
    schedules: Mapping[str, str],
    *,
    prune: bool = False,
    now: datetime | None = None,
) -> list[Change]:
    moment = now or datetime.now(UTC)
    return [
        *_connection_changes(desired, {r.connection.id: r for r in connections}, prune),
        *_key_changes(desired, {k.key_hash: k for k in keys}, prune, moment),
        *_schedule_changes(desired, schedules, prune),
    ]


def _connection_changes(
    desired: HubConfig, current: dict[str, ConnectionRecord], prune: bool
) -> Iterable[Change]:
    named = {c.id for c in desired.connections}
    for connection in desired.connections:
        detail = f"{connection.provider.value}, tenant {connection.tenant_id}"
        record = current.get(connection.id)
        if record is None:
            yield Change("add", "connection", connection.id, detail, connection=connection)
        elif connection_body(record.connection) != connection_body(connection) or not record.enabled:
            what = _differences(record, connection)
            yield Change("update", "connection", connection.id, what, connection=connection)
    if prune:
        for connection_id in sorted(set(current) - named):
            yield Change("remove", "connection", connection_id)


def _differences(record: ConnectionRecord, connection: Connection) -> str:
    before = record.connection.model_dump(by_alias=True, exclude_none=True)
    after = connection.model_dump(by_alias=True, exclude_none=True)
    fields = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if not record.enabled:
        fields.append("enabled")
    return "changed " + ", ".join(fields)  # field names only: a secret's value is never shown


def _key_changes(
    desired: HubConfig, current: dict[str, KeyRecord], prune: bool, now: datetime
) -> Iterable[Change]:
    wanted = {k.digest: key_record(k, now) for k in desired.api_keys}
    for digest, record in wanted.items():
        existing = current.get(digest)
        if existing is None:
            yield Change("add", "key", key_label(record), key=record)
        elif (existing.tenant_id, existing.name) != (record.tenant_id, record.name):
            kept = KeyRecord(digest, record.tenant_id, record.name, existing.created_at, existing.last4)
            yield Change("update", "key", key_label(kept), "changed tenant or name", key=kept)
    if prune:
        for digest in sorted(set(current) - set(wanted)):
            yield Change("remove", "key", key_label(current[digest]), key=current[digest])


def _schedule_changes(desired: HubConfig, current: Mapping[str, str], prune: bool) -> Iterable[Change]:
    wanted = {c.id: c for c in desired.connections if c.poll is not None}
    for connection_id, connection in wanted.items():
        rate = rate_of(connection)
        if connection_id not in current:
            yield Change("add", "schedule", connection_id, rate, connection=connection)
        elif current[connection_id] != rate:
            yield Change("update", "schedule", connection_id, rate, connection=connection)
    named = {c.id for c in desired.connections}
    for name in sorted(set(current) - set(wanted)):
        if name in named or prune:  # the file stopped polling it, or no longer names it
            yield Change("remove", "schedule", name)
