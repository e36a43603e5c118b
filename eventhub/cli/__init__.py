"""`eventhub`: the hub's command line.

Talks HTTP to the query API: the local stack (``make run``, http://127.0.0.1:3000, with an API key
from config/local.json) by default, or a deployed stack given ``--api-url``/``--api-key``, a
``cdk deploy --outputs-file`` JSON (``--stack-outputs``) or a stack name and AWS profile.

Exit codes: 0 success, 1 a failure of the hub or the network, 2 bad input (a bad option, a bad
time range, a 422 from the API), 3 missing or refused credentials (401), 4 not found (404).

This package holds the typer ``app`` and its global options; the commands live by job:
``events`` (events list|get|tail), ``maintenance`` (backfill, replay, recopy, rebuild-counters),
``republish`` (stored events onto the event bus again),
and the registry's ``keys`` (create|list|revoke), ``connections`` (add|update|disable|enable|list)
and ``config_apply`` (config apply), which write through ``registry_target`` (the registry, the
schedules and the secrets of the local or deployed stack); on top of ``target`` (which stack,
which key), ``api_client`` (HTTP), ``time_options`` (--from/--to), ``rendering`` (what is printed)
and ``errors`` (exit codes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eventhub.cli import maintenance, republish
from eventhub.cli.api_client import describe_error
from eventhub.cli.config_apply import config_app
from eventhub.cli.connections import connections_app
from eventhub.cli.errors import EXIT_AUTH, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_NOT_FOUND, CliError
from eventhub.cli.events import events_app
from eventhub.cli.keys import keys_app
from eventhub.cli.maintenance import MAINTENANCE_MODULES, PASS_THROUGH
from eventhub.cli.options import Options
from eventhub.cli.target import DEFAULT_API_URL, DEFAULT_CONFIG, outputs_of_stack
from eventhub.cli.time_options import parse_moment, time_range

__all__ = [
    "EXIT_AUTH",
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_NOT_FOUND",
    "MAINTENANCE_MODULES",
    "CliError",
    "app",
    "describe_error",
    "main",
    "outputs_of_stack",
    "parse_moment",
    "time_range",
]

app = typer.Typer(
    name="eventhub",
    help="Operate the event hub: read events, follow them live, manage keys and connections, "
    "and run maintenance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(events_app, name="events")
app.add_typer(keys_app, name="keys")
app.add_typer(connections_app, name="connections")
app.add_typer(config_app, name="config")
app.command()(maintenance.backfill)
app.command()(maintenance.replay)
app.command(context_settings=PASS_THROUGH)(maintenance.recopy)
app.command("rebuild-counters", context_settings=PASS_THROUGH)(maintenance.rebuild_counters)
app.command()(republish.republish)


@app.callback()
def _root(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option(
            envvar="EVENTHUB_API_URL",
            help=f"Query API base URL (default: {DEFAULT_API_URL}, the local stack).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="EVENTHUB_API_KEY", help="API key (default: from --config for the local stack)."),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Local stack: use this tenant's first API key from --config.")
    ] = None,
    config: Annotated[
        Path, typer.Option("--config", envvar="EVENTHUB_CONFIG_PATH", help="The hub's local configuration.")
    ] = DEFAULT_CONFIG,
    stack_outputs: Annotated[
        Path | None,
        typer.Option(help="A `cdk deploy --outputs-file` JSON: take the query API URL from it."),
    ] = None,
    stack_name: Annotated[
        str | None, typer.Option("--stack", help="A deployed stack: read its outputs with AWS credentials.")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile for --stack.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region for --stack.")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for each HTTP answer.")] = 10.0,
) -> None:
    ctx.obj = Options(
        api_url=api_url,
        api_key=api_key,
        tenant=tenant,
        config=config,
        stack_outputs=stack_outputs,
        stack_name=stack_name,
        profile=profile,
        region=region,
        timeout=timeout,
    )


def main() -> None:
    app()
