"""``eventhub keys create|list|revoke``: the query API's keys, in the registry.

A key is made here, printed once, and stored only as its SHA-256, with its tenant, a name, when it
was made and its last four characters (so listings can tell keys apart without showing one). The
functions read a key by its hash and keep each answer for their registry cache bound (60 s by
default): a new key works at once, a revoked one is refused within that bound.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from eventhub.cli.errors import EXIT_BAD_INPUT, EXIT_NOT_FOUND, CliError, reported
from eventhub.cli.options import options_of
from eventhub.cli.registry_target import CACHE_BOUND, aws_failures, registry_target
from eventhub.cli.rendering import err, out, print_json

if TYPE_CHECKING:
    from functions.adapters.registry.items import KeyRecord

KEY_PREFIX = "ehk_"  # recognisable in a leaked log or a secret scanner's rules
SHORT_HASH = 12

keys_app = typer.Typer(
    help="The query API's keys: create one (shown once), list them, revoke one.", no_args_is_help=True
)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def described(record: KeyRecord) -> str:
    """A key as listings and errors name it: label, last four, short hash; never the key."""
    from eventhub.registry.plan import key_label

    last4 = f"…{record.last4}, " if record.last4 and record.name else ""  # else the label shows it
    return f"{key_label(record)} ({last4}sha256:{record.key_hash[:SHORT_HASH]})"


@keys_app.command("create")
@reported
def create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="The tenant whose events the key reads.")],
    name: Annotated[str | None, typer.Option(help="A name to tell the key by, unique in its tenant.")] = None,
) -> None:
    """Make a new key for a tenant: printed once on stdout, stored only as its SHA-256."""
    from pydantic import ValidationError

    from functions.adapters.registry.items import KeyRecord
    from functions.models.config import ApiKey, _describe, hash_api_key

    key = new_key()
    try:
        ApiKey(tenant_id=tenant, name=name, key=key)
    except ValidationError as error:
        raise CliError(f"invalid key:\n{_describe(error)}", EXIT_BAD_INPUT) from None
    target = registry_target(options_of(ctx), "keys create")
    record = KeyRecord(
        key_hash=hash_api_key(key),
        tenant_id=tenant,
        name=name or "",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        last4=key[-4:],
    )
    with aws_failures(f"keys create on {target.origin}"):
        if name and any(r.tenant_id == tenant and r.name == name for r in target.registry.key_records()):
            raise CliError(
                f"tenant {tenant!r} already has a key named {name!r}: pick another --name, "
                "or revoke that key first",
                EXIT_BAD_INPUT,
            )
        if not target.registry.put_key(record, only_new=True):
            raise CliError("a key of that hash exists already (nothing written); run the command again")
    out.print(key, markup=False)
    err.print(f"created key {described(record)} in {target.origin}", markup=False)
    err.print("[yellow]the key is not shown again: store it now[/yellow]")


@keys_app.command("list")
@reported
def list_keys(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The keys of the registry: name, tenant, when made, last four characters, hash (never a key)."""
    target = registry_target(options_of(ctx), "keys list")
    with aws_failures(f"keys list on {target.origin}"):
        records = [r for r in target.registry.key_records() if tenant is None or r.tenant_id == tenant]
    if as_json:
        print_json({"keys": [key_json(r) for r in records]})
        return
    table = Table(header_style="bold")
    for column in ("name", "tenant", "created", "key", "hash"):
        table.add_column(column, overflow="fold")
    for r in records:
        last4 = f"…{r.last4}" if r.last4 else ""
        table.add_row(r.name, r.tenant_id, r.created_at, last4, r.key_hash[:SHORT_HASH])
    out.print(table)
    if not records:
        err.print(f"no keys in {target.origin}" + (f" for tenant {tenant!r}" if tenant else ""))


def key_json(record: KeyRecord) -> dict[str, str]:
    return {
        "name": record.name,
        "tenantId": record.tenant_id,
        "createdAt": record.created_at,
        "last4": record.last4,
        "keyHash": record.key_hash,  # the SHA-256 is what a config file's keyHash holds
    }


@keys_app.command("revoke")
@reported
def revoke(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The key of this name.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only among this tenant's keys.")] = None,
    last4: Annotated[str | None, typer.Option(help="The key ending in these four characters.")] = None,
    key_hash: Annotated[
        str | None, typer.Option("--hash", help="The key whose SHA-256 (hex) starts with this.")
    ] = None,
) -> None:
    """Remove exactly one key (by --name, --last4 or --hash; --tenant narrows); refused when the
    selector matches no key or several."""
    chosen = [(flag, value) for flag, value in (("--name", name), ("--last4", last4), ("--hash", key_hash))
              if value is not None]  # fmt: skip
    if len(chosen) != 1:
        raise CliError("say which key: exactly one of --name, --last4 or --hash", EXIT_BAD_INPUT)
    flag, value = chosen[0]
    if flag == "--hash":
        value = value.lower()
    selector = f"{flag} {value}" + (f" --tenant {tenant}" if tenant else "")
    target = registry_target(options_of(ctx), "keys revoke")
    with aws_failures(f"keys revoke on {target.origin}"):
        records = [r for r in target.registry.key_records() if tenant is None or r.tenant_id == tenant]
        matches = [r for r in records if _selects(r, flag, value)]
        if len(matches) != 1:
            raise CliError(_not_one(selector, matches, records), EXIT_BAD_INPUT)
        found = matches[0]
        if not target.registry.delete_key(found.key_hash):
            raise CliError(f"key {described(found)} was revoked meanwhile", EXIT_NOT_FOUND)
    out.print(f"revoked key {described(found)}", markup=False)
    err.print(f"the query API refuses it within {CACHE_BOUND} (the functions' registry cache)")


def _selects(record: KeyRecord, flag: str, value: str) -> bool:
    if flag == "--name":
        return record.name == value
    if flag == "--last4":
        return bool(record.last4) and record.last4 == value
    return bool(value) and record.key_hash.startswith(value)


def _not_one(selector: str, matches: list[KeyRecord], candidates: list[KeyRecord]) -> str:
    if matches:
        found = "; ".join(described(r) for r in matches)
        return f"{len(matches)} keys match {selector}: {found}; nothing revoked, narrow it with --hash"
    known = "; ".join(described(r) for r in candidates) or "none"
    return f"no key matches {selector}; nothing revoked (keys: {known})"
