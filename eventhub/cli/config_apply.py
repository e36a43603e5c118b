"""``eventhub config apply FILE [--prune] [--dry-run]``: make the registry match a config file.

The file is the configuration schema of ``make run`` and ``make synth`` (``models.config``). A
file with any problem is refused whole, every problem listed by field and no value echoed,
before anything is read or written; for a deployed stack, so is a file holding secret values
inline. The plan (``eventhub.registry.plan``) is printed, one line per change; ``--dry-run``
stops there. Applying stops at the first failure and says what was done, what failed and what
was not attempted: the same command again finishes the job, and once done it plans nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from eventhub.cli.errors import EXIT_BAD_INPUT, EXIT_FAILURE, CliError, reported
from eventhub.cli.options import options_of
from eventhub.cli.registry_target import aws_failures, registry_target
from eventhub.cli.rendering import err, out

config_app = typer.Typer(
    help="The configuration file as what the registry should hold: plan and apply it.",
    no_args_is_help=True,
)


@config_app.command("apply")
@reported
def apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A configuration file (the schema of config/local.json).")],
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Also remove the connections, keys and schedules the file does not name."
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and write nothing.")] = False,
) -> None:
    """Plan FILE against the registry (local stack, or the deployed one of --stack/--stack-outputs)
    and apply it: connections and keys the file names are made to match it, poll schedules follow."""
    from eventhub.registry.apply import apply_plan
    from eventhub.registry.plan import plan

    desired = read_config(file)
    target = registry_target(options_of(ctx), "config apply")
    inline = desired.inline_secrets()
    if target.deployed and inline:
        raise CliError(
            f"{file}: connection(s) {', '.join(inline)} hold secret values inline; a deployed stack "
            'takes {"secretsManager": "name"} references only (nothing written)',
            EXIT_BAD_INPUT,
        )
    with aws_failures(f"config apply: reading {target.origin}"):
        schedules = target.schedules.current()
        registry = target.registry
        changes = plan(desired, registry.connection_records(), registry.key_records(), schedules, prune=prune)
    if not changes:
        out.print(f"no changes: {target.origin} matches {file}", markup=False)
        return
    err.print(f"plan for {target.origin} ({len(changes)} change(s)):", markup=False)
    for change in changes:
        out.print(change.line(), markup=False)
    if dry_run:
        err.print("dry run: nothing written")
        return
    report = apply_plan(
        changes,
        registry,
        target.schedules,
        existing_schedules=list(schedules),
        progress=lambda change: out.print(f"done {change.line()}", markup=False),
    )
    if report.ok:
        out.print(f"applied {len(report.done)} change(s) to {target.origin}", markup=False)
        return
    explain_failure(report)
    raise typer.Exit(EXIT_FAILURE)


def read_config(file: Path) -> Any:
    """The file as a HubConfig; CliError (exit 2) naming each bad field, never a value."""
    from functions.models.config import ConfigError, load_config

    try:
        return load_config(file)
    except ConfigError as error:
        raise CliError(f"{error}\nnothing written", EXIT_BAD_INPUT) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise CliError(f"{file}: cannot read the configuration ({reason})", EXIT_BAD_INPUT) from None


def explain_failure(report: Any) -> None:
    assert report.failed is not None
    err.print(f"[bold red]failed:[/bold red] {escape(report.failed.line())} ({escape(report.error)})")
    err.print(f"done ({len(report.done)}):", markup=False)
    for change in report.done:
        err.print(f"  {change.line()}", markup=False)
    err.print(f"not attempted ({len(report.not_attempted)}):", markup=False)
    for change in report.not_attempted:
        err.print(f"  {change.line()}", markup=False)
    err.print("run the same command again to finish", markup=False)
