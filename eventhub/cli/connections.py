"""``eventhub connections add|update|disable|enable|list``: the connections of the registry.

A poll connection's schedule follows it: written with it, removed when it is disabled, restored
when it is enabled. The functions read a connection by id and keep each answer for their registry
cache bound (60 s by default): a new connection works at once, a disabled one answers 404 within
that bound. Secret values are never printed; their Secrets Manager names are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.table import Table

from eventhub.cli.connection_spec import Spec, build
from eventhub.cli.errors import EXIT_BAD_INPUT, EXIT_NOT_FOUND, CliError, reported
from eventhub.cli.options import options_of
from eventhub.cli.registry_target import CACHE_BOUND, RegistryTarget, aws_failures, registry_target
from eventhub.cli.rendering import err, out, print_json

connections_app = typer.Typer(
    help="Connections: add or update one, disable or enable it, list them.", no_args_is_help=True
)

Id = Annotated[str, typer.Option("--id", help="The connection id: the {connectionId} of its webhook URL.")]
Hmac = Annotated[
    str | None,
    typer.Option("--hmac", help="Provider hmac: its hmac block, as JSON or @file.json (docs/providers.md)."),
]
PublicKeys = Annotated[
    list[str] | None,
    typer.Option("--public-key", help="standard-webhooks: a whpk_ key verifying v1a signatures (repeat)."),
]
Webhook = Annotated[
    bool, typer.Option("--webhook", help="It receives signed webhooks (needs its signing secret).")
]
PollUrl = Annotated[str | None, typer.Option(help="Poll the provider's API at this base URL.")]
Every = Annotated[int | None, typer.Option(help="Poll every this many seconds (schedules: whole minutes).")]
Hosts = Annotated[
    list[str] | None, typer.Option("--artifact-host", help="A host the copier may fetch from (repeat).")
]
Stdin = Annotated[
    bool,
    typer.Option(
        "--secret-stdin",
        help="Read the secret from stdin: the signing secret (webhook), then the poll credential (poll), "
        "one line each; deployed, it is stored in Secrets Manager.",
    ),
]
Names = Annotated[
    list[str] | None,
    typer.Option("--secret-name", help="An existing Secrets Manager secret instead (repeat, same order)."),
]


@connections_app.command("add")
@reported
def add(
    ctx: typer.Context,
    connection_id: Id,
    provider: Annotated[str, typer.Option(help="klavi, exa, extend, standard-webhooks, hmac or vai.")],
    tenant: Annotated[str, typer.Option(help="The tenant every event of the connection belongs to.")],
    webhook: Webhook = False,
    poll_base_url: PollUrl = None,
    every_seconds: Every = None,
    artifact_host: Hosts = None,
    secret_stdin: Stdin = False,
    secret_name: Names = None,
    hmac: Hmac = None,
    public_key: PublicKeys = None,
) -> None:
    """Add a connection (refused when its id exists) and, for a poll connection, its schedule."""
    spec = Spec(
        connection_id=connection_id, provider=provider, tenant=tenant, webhook=webhook,
        poll_base_url=poll_base_url, every_seconds=every_seconds, artifact_hosts=artifact_host,
        secret_stdin=secret_stdin, secret_names=secret_name or [], hmac=hmac, public_keys=public_key,
    )  # fmt: skip
    write(ctx, spec, adding=True)


@connections_app.command("update")
@reported
def update(
    ctx: typer.Context,
    connection_id: Id,
    provider: Annotated[str | None, typer.Option(help="Another provider.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Another tenant.")] = None,
    webhook: Annotated[
        bool | None, typer.Option("--webhook/--no-webhook", help="Start or stop receiving webhooks.")
    ] = None,
    poll_base_url: PollUrl = None,
    every_seconds: Every = None,
    no_poll: Annotated[
        bool, typer.Option("--no-poll", help="Stop polling (and remove the schedule).")
    ] = False,
    artifact_host: Hosts = None,
    secret_stdin: Stdin = False,
    secret_name: Names = None,
    hmac: Hmac = None,
    public_key: PublicKeys = None,
) -> None:
    """Change a connection that exists: the options given, over what it has (secrets too, when
    --secret-stdin or --secret-name is given: every part's, in order)."""
    spec = Spec(
        connection_id=connection_id, provider=provider, tenant=tenant, webhook=webhook,
        poll_base_url=poll_base_url, every_seconds=every_seconds, no_poll=no_poll,
        artifact_hosts=artifact_host, secret_stdin=secret_stdin, secret_names=secret_name or [],
        hmac=hmac, public_keys=public_key,
    )  # fmt: skip
    write(ctx, spec, adding=False)


def write(ctx: typer.Context, spec: Spec, *, adding: bool) -> None:
    from functions.adapters.registry.items import ConnectionRecord

    verb, done = ("add", "added") if adding else ("update", "updated")
    target = registry_target(options_of(ctx), f"connections {verb}")
    with aws_failures(f"connections {verb} {spec.connection_id} on {target.origin}"):
        record = target.registry.connection_record(spec.connection_id)
        if adding and record is not None:
            raise CliError(
                f"connection {spec.connection_id!r} exists in {target.origin}: "
                "change it with `eventhub connections update`",
                EXIT_BAD_INPUT,
            )
        if not adding and record is None:
            raise CliError(_unknown(target, spec.connection_id), EXIT_NOT_FOUND)
        built = build(spec, None if record is None else record.connection, target.secrets)
        writer = target.secrets
        for name, value in built.secret_writes:
            assert writer is not None
            writer.put(name, value)
            err.print(f"stored the secret in Secrets Manager as {name}", markup=False)
        enabled = True if record is None else record.enabled
        connection = built.connection
        target.registry.put_connection(ConnectionRecord(connection, enabled=enabled))
        err.print(f"wrote connection {connection.id} to {target.origin}", markup=False)
        _follow_schedule(target, connection, enabled, had_poll=record is not None and record.connection.poll)
    state = "" if enabled else " (disabled: `eventhub connections enable` to use it)"
    out.print(f"{done} connection {connection.id}: {_summary(connection)}{state}", markup=False)


def _follow_schedule(target: RegistryTarget, connection: Any, enabled: bool, *, had_poll: Any) -> None:
    if connection.poll is not None and enabled:
        target.schedules.ensure(connection)
        err.print(f"scheduled {connection.id}: {_rate(connection)}", markup=False)
    elif (had_poll or connection.poll is not None) and target.schedules.remove(connection.id):
        err.print(f"removed the schedule of {connection.id}", markup=False)


@connections_app.command("disable")
@reported
def disable(ctx: typer.Context, connection_id: Id) -> None:
    """Disable a connection: its webhooks answer 404 and its schedule is removed."""
    set_enabled(ctx, connection_id, enabled=False)


@connections_app.command("enable")
@reported
def enable(ctx: typer.Context, connection_id: Id) -> None:
    """Enable a disabled connection again, with its schedule."""
    set_enabled(ctx, connection_id, enabled=True)


def set_enabled(ctx: typer.Context, connection_id: str, *, enabled: bool) -> None:
    verb, word = ("enable", "enabled") if enabled else ("disable", "disabled")
    target = registry_target(options_of(ctx), f"connections {verb}")
    with aws_failures(f"connections {verb} {connection_id} on {target.origin}"):
        record = target.registry.connection_record(connection_id)
        if record is None:
            raise CliError(_unknown(target, connection_id), EXIT_NOT_FOUND)
        changed = record.enabled != enabled
        if changed:
            target.registry.put_connection(replace(record, enabled=enabled))
        _follow_schedule(target, record.connection, enabled, had_poll=record.connection.poll)
    if not changed:
        out.print(f"connection {connection_id} was already {word}", markup=False)
        return
    effect = "it works again" if enabled else "its webhooks answer 404 and its polls stop"
    out.print(f"{word} connection {connection_id}: within {CACHE_BOUND} {effect}", markup=False)


def _unknown(target: RegistryTarget, connection_id: str) -> str:
    known = ", ".join(r.connection.id for r in target.registry.connection_records()) or "none"
    return f"no connection {connection_id!r} in {target.origin} (connections: {known})"


@connections_app.command("list")
@reported
def list_connections(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The connections of the registry, with their schedules; secret names, never their values."""
    target = registry_target(options_of(ctx), "connections list")
    with aws_failures(f"connections list on {target.origin}"):
        records = target.registry.connection_records()
        rates = target.schedules.current()
    rows = [connection_json(r.connection, r.enabled, rates.get(r.connection.id)) for r in records]
    if as_json:
        print_json({"connections": rows})
    else:
        table = Table(header_style="bold")
        for column in ("id", "provider", "tenant", "enabled", "receives", "schedule", "secrets"):
            table.add_column(column, overflow="fold")
        for row in rows:
            secrets = [*row["secrets"], *([row["pollCredential"]] if row["pollCredential"] else [])]
            receives = ["webhook"] if row["webhook"] else []
            if row["poll"]:
                receives.append(f"poll every {row['poll']['everySeconds']} s")
            table.add_row(
                row["id"], row["provider"], row["tenantId"], "yes" if row["enabled"] else "no",
                ", ".join(receives), row["schedule"] or "-", ", ".join(secrets),
            )  # fmt: skip
        out.print(table)
    orphans = sorted(set(rates) - {r.connection.id for r in records})
    if orphans:
        err.print(f"schedules without a connection: {', '.join(orphans)}", markup=False)


def _secret_name(value: Any) -> str:
    return "inline" if isinstance(value, str) else str(value.secrets_manager)


def connection_json(connection: Any, enabled: bool, schedule: str | None) -> dict[str, Any]:
    poll = connection.poll
    return {
        "id": connection.id,
        "provider": connection.provider.value,
        "tenantId": connection.tenant_id,
        "enabled": enabled,
        "webhook": connection.receives_webhooks,
        "poll": None if poll is None else {"baseUrl": poll.base_url, "everySeconds": poll.every_seconds},
        "schedule": schedule,
        "secrets": [_secret_name(s) for s in connection.secrets],
        "pollCredential": None if poll is None or poll.credential is None else _secret_name(poll.credential),
        "artifactHosts": connection.artifact_hosts,
    }


def _rate(connection: Any) -> str:
    from eventhub.registry.schedules import rate_of

    return rate_of(connection)


def _summary(connection: Any) -> str:
    parts = [f"{connection.provider.value}, tenant {connection.tenant_id}"]
    if connection.receives_webhooks:
        parts.append(f"webhooks at /webhooks/{connection.id}")
    if connection.poll is not None:
        parts.append(f"polls {connection.poll.base_url} every {connection.poll.every_seconds} s")
    return "; ".join(parts)
