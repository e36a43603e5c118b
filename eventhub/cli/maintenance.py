"""The maintenance commands: ``backfill``, ``replay``, ``recopy`` and ``rebuild-counters``, on the
local stack (``make run``) or on the deployed stack of --stack/--stack-outputs; backed by the
runtime's own modules (``eventhub.local``, ``functions``) when they are installed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from eventhub.cli.errors import EXIT_AUTH, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_NOT_FOUND, CliError, reported
from eventhub.cli.options import Options, options_of
from eventhub.cli.redrive import redrive_all, redrive_deployed
from eventhub.cli.rendering import err, out, short
from eventhub.cli.target import DEFAULT_API_URL, is_loopback
from eventhub.cli.time_options import parse_moment, time_range

# Each maintenance command checks what it can here, then hands its arguments to a module of the
# runtime that does the work: ``main(argv: list[str]) -> int`` (the module's own exit code).
# Options this command line does not know are passed through unchanged.
MAINTENANCE_MODULES = {
    "recopy": "eventhub.local.recopy",
    "rebuild-counters": "eventhub.local.rebuild_counters",
}
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def delegate(command: str, argv: list[str]) -> int:
    """Run ``command`` through its runtime module; CliError when the module is not installed."""
    import importlib

    module_name = MAINTENANCE_MODULES[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise CliError(
                f"`eventhub {command}` is not available in this installation ({module_name} is missing)"
            ) from None
        raise
    return int(module.main(argv) or 0)


def _finish(code: int) -> None:
    if code:
        raise typer.Exit(code)


def _connection(config_path: Path, connection_id: str) -> dict[str, Any]:
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CliError(f"{config_path}: cannot read the configuration ({error})", EXIT_BAD_INPUT) from None
    connections = [c for c in document.get("connections", []) if isinstance(c, dict)]
    found = next((c for c in connections if c.get("id") == connection_id), None)
    if found is None:
        known = ", ".join(str(c.get("id")) for c in connections) or "none"
        raise CliError(
            f"unknown connection {connection_id!r} in {config_path} (known: {known})", EXIT_BAD_INPUT
        )
    return found


def local_port(options: Options, command: str) -> int:
    """The port of the local stack the command works on (from --api-url, default 3000)."""
    url = options.api_url or DEFAULT_API_URL
    if not is_loopback(url):
        raise CliError(
            f"`eventhub {command}` works on the local stack (`make run`); {url} is not a local address",
            EXIT_BAD_INPUT,
        )
    return urlsplit(url).port or 80


@reported
def backfill(
    ctx: typer.Context,
    connection: Annotated[str, typer.Argument(help="A VAI or Exa poll connection of the configuration.")],
    start: Annotated[str, typer.Option("--from", help="Start of the window (same forms as events list).")],
    end: Annotated[str, typer.Option("--to", help="End of the window [default: now].")] = "now",
    max_seconds: Annotated[
        float, typer.Option(min=1.0, help="Stop after this long; the same command resumes where it stopped.")
    ] = 900.0,
) -> None:
    """Read a VAI or Exa connection's events over a window again, into the local stack of --api-url
    or the deployed stack of --stack/--stack-outputs (secrets of --config from Secrets Manager).

    Resumable: the window is read in chunks under its own checkpoint, so running the same command
    again continues after the last chunk stored. Events already stored are counted as duplicates.
    """
    options = options_of(ctx)
    found = _connection(options.config, connection)
    if found.get("provider") not in ("vai", "exa") or not found.get("poll"):
        raise CliError(
            f"connection {connection!r} (provider {found.get('provider')}) has no events API to backfill "
            "from; backfill takes VAI and Exa poll connections",
            EXIT_BAD_INPUT,
        )
    frm, to = time_range(start, end)
    assert frm is not None and to is not None
    deployed = options.deployed()
    port = 0 if deployed is not None else local_port(options, "backfill")
    summary = run_backfill(
        options.config,
        connection,
        parse_moment(frm, "--from"),
        parse_moment(to, "--to"),
        port,
        max_seconds,
        deployed=deployed,
    )
    out.print(summary.line(), markup=False)
    if summary.outcome == "partial":
        err.print("[yellow]the window is not finished: run the same command again to continue[/yellow]")
    elif summary.outcome == "skipped":
        err.print("[yellow]another backfill of this connection is running; nothing was done[/yellow]")
    elif summary.outcome != "completed":
        raise typer.Exit(EXIT_FAILURE)


def run_backfill(
    config_path: Path,
    connection_id: str,
    start: datetime,
    end: datetime,
    port: int,
    max_seconds: float,
    *,
    deployed: Any = None,
) -> Any:
    """Backfill through the store of the local stack serving ``port`` (or of ``deployed``, a
    DeployedStack), with a progress bar."""
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from functions.errors import HubError, ProviderAuthFailed, UnknownConnection
    from functions.logic.polling import RunBudget
    from functions.logic.polling import backfill as backfill_window

    span = max((end - start).total_seconds(), 1.0)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    try:
        with (
            poll_services(config_path, port, deployed) as (services, config),
            Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar,
        ):
            task = bar.add_task(f"{connection_id}: backfill", total=span)

            def progress(summary: Any, position: datetime | None) -> None:
                described = f"{connection_id}: seen {summary.seen}, new {summary.new}, pages {summary.pages}"
                done = (position - start).total_seconds() if position is not None else None
                bar.update(task, description=described, completed=done)

            return backfill_window(
                connection_id,
                start=start,
                end=end,
                config=config,
                services=services,
                budget=RunBudget.for_seconds(max_seconds),
                progress=progress,
            )
    except UnknownConnection as error:
        raise CliError(error.message, EXIT_BAD_INPUT) from None
    except ProviderAuthFailed as error:
        raise CliError(
            f"the provider refused the connection's credential: {error.message}", EXIT_AUTH
        ) from None
    except HubError as error:
        raise CliError(f"backfill failed: {error.message}") from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"backfill failed: {error}") from None


@contextmanager
def poll_services(config_path: Path, port: int, deployed: Any) -> Iterator[tuple[Any, Any]]:
    """(PollServices, HubConfig) on the local stack serving ``port``, or on ``deployed``: its
    table and bucket, and --config's secrets read from Secrets Manager, with its session."""
    from functions.adapters.http_client import shared_client
    from functions.logic.polling import PollServices

    if deployed is None:
        from functions.adapters import factory

        with local_stack_store(config_path, port):
            services = PollServices(
                store=factory.event_store(), http=shared_client(), secrets=factory.secret_resolver()
            )
            yield services, factory.registry()
        return
    from functions.models.config import load_config
    from functions.observability import logger

    logger.setLevel("ERROR")
    try:
        config = load_config(config_path)
    except Exception as error:
        raise CliError(f"{config_path}: cannot read the configuration ({error})", EXIT_BAD_INPUT) from None
    services = PollServices(
        store=deployed.event_store(), http=shared_client(), secrets=deployed.secret_resolver()
    )
    yield services, config


@contextmanager
def local_stack_store(config_path: Path, port: int) -> Iterator[Any]:
    """This process's functions and adapters on the AWS of the local stack serving ``port``
    (``make run``): its table, bucket and queues. Their log lines are kept to errors."""
    from eventhub.local.scheduler import running_stack_endpoint

    endpoint = running_stack_endpoint(port)
    if endpoint is None:
        raise CliError(f"no local stack is running on port {port}: start it with `make run`")
    from eventhub.local.stack import LocalStack
    from functions.observability import logger

    logger.setLevel("ERROR")  # JSON log lines would bury the progress bar and the summary
    stack = LocalStack(config_path, services=[], aws_endpoint_url=endpoint)
    try:
        stack.start()
    except Exception as error:
        raise CliError(f"cannot reach the local stack's store at {endpoint}: {error}") from None
    try:
        yield stack
    finally:
        stack.stop()


@reported
def replay(ctx: typer.Context) -> None:
    """Redrive the dead-letter queues and report what was done: spilled events back into the
    store, failed copies copied again, failed aggregator batches counted again (and, deployed,
    failed scheduled polls run again). The local stack, or the deployed one of --stack."""
    options = options_of(ctx)
    deployed = options.deployed()
    if deployed is not None:
        lines, left = redrive_deployed(deployed, options.config)
    else:
        port = local_port(options, "replay")
        with local_stack_store(options.config, port) as stack:
            lines, left = redrive_all(stack)
    for line in lines:
        out.print(line, markup=False)
    if left:
        err.print(f"[yellow]{left} message(s) left in the queues: see the lines above[/yellow]")
        raise typer.Exit(EXIT_FAILURE)


@reported
def recopy(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="The event whose artifacts to copy again.")],
) -> None:
    """Copy an event's failed, expired or refused artifacts again: the local stack of --api-url,
    or the copier function of the deployed stack of --stack/--stack-outputs."""
    if not UUID.match(event_id.strip()):
        raise CliError(f"{event_id!r} is not an event id (a uuid)", EXIT_BAD_INPUT)
    deployed = options_of(ctx).deployed()
    if deployed is not None:
        _finish(recopy_deployed(deployed, event_id.strip().lower()))
        return
    port = local_port(options_of(ctx), "recopy")
    _finish(delegate("recopy", ["--event", event_id.strip().lower(), "--port", str(port), *ctx.args]))


@reported
def rebuild_counters(ctx: typer.Context) -> None:
    """Recompute the aggregate counters from the stored events (the local stack, or the deployed
    table of --stack/--stack-outputs; --tenant T for one tenant)."""
    deployed = options_of(ctx).deployed()
    if deployed is not None:
        _finish(rebuild_deployed(deployed, ctx.args))
        return
    _finish(delegate("rebuild-counters", ["--config", str(options_of(ctx).config), *ctx.args]))


def recopy_deployed(deployed: Any, event_id: str) -> int:
    """The deployed copier's recopy action for one event; its outcome per artifact."""
    from eventhub.local.streams.subscriptions import COPIER_HANDLER

    report = deployed.invoke(COPIER_HANDLER, {"action": "recopy", "eventId": event_id})
    if not isinstance(report, dict):
        raise CliError(f"the copier answered something that is not a recopy report: {short(report, 80)}")
    if not report.get("found"):
        raise CliError(f"no event {event_id} in {deployed.output('TableName')}", EXIT_NOT_FOUND)
    artifacts = [a for a in report.get("artifacts", []) if isinstance(a, dict)]
    for index, artifact in enumerate(artifacts):
        detail = f" ({artifact['reason']})" if artifact.get("reason") else ""
        name = artifact.get("name") or f"#{artifact.get('index', index)}"
        out.print(f"{event_id} artifact {name}: {artifact.get('status')}{detail}", markup=False)
    if not artifacts:
        out.print(f"event {event_id}: every artifact is already copied", markup=False)
    return 0 if all(a.get("status") == "copied" for a in artifacts) else EXIT_FAILURE


def rebuild_deployed(deployed: Any, argv: list[str]) -> int:
    """eventhub.local.rebuild_counters' rebuild on the deployed table, with the stack's session."""
    from botocore.exceptions import BotoCoreError, ClientError

    from eventhub.local import rebuild_counters as module
    from functions.errors import HubError

    try:
        args = module.parse_args(argv)
    except SystemExit as stop:  # argparse printed its usage or the error
        raise typer.Exit(EXIT_BAD_INPUT if stop.code else 0) from None
    table = deployed.output("TableName")
    try:
        events, items = module.rebuild(deployed.client("dynamodb"), table, args.tenant)
    except (BotoCoreError, ClientError, HubError) as error:
        raise CliError(f"rebuild-counters: {table}: {getattr(error, 'message', None) or error}") from None
    scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
    out.print(f"rebuilt {items} counter items from {events} events ({scope}) in {table}", markup=False)
    return 0
