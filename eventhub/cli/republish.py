"""``eventhub republish``: stored events over a window put on the event bus again, as the
publisher puts them, for consumers whose rule came later (see ``functions.logic.publishing``).

On the local stack of --api-url (``make run``: its embedded AWS and bus) or the deployed stack of
--stack/--stack-outputs (outputs ``TableName``, ``BucketName``, ``EventBusName``). Without
--tenant every tenant with a stored event is republished: they are found with one Scan of the
events table (it reads the whole table once); --tenant reads only that tenant's index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from eventhub.cli.errors import EXIT_FAILURE, CliError, reported
from eventhub.cli.maintenance import local_port, local_stack_store
from eventhub.cli.options import Options, options_of
from eventhub.cli.rendering import err, out
from eventhub.cli.time_options import parse_moment, time_range


@reported
def republish(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="Start of the window (same forms as events list).")],
    end: Annotated[str, typer.Option("--to", help="End of the window (default: now).")] = "now",
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant's events (default: every tenant).")
    ] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Only events of this type.")] = None,
) -> None:
    """Put the stored events with --from <= occurredAt < --to on the event bus again (each as the
    publisher's entry: same source, detail type and detail, large payloads as pointers). At least
    once: consumers that already have an event see it again, under the same id."""
    frm, to = time_range(start, end)
    assert frm is not None and to is not None
    options = options_of(ctx)
    report = run_republish(options, parse_moment(frm, "--from"), parse_moment(to, "--to"), tenant, event_type)
    out.print(report.line(), markup=False)
    if report.stopped_at is not None:
        err.print(
            f"[yellow]stopped: the entry of event {report.stopped_at} could not be put; "
            "run the same command again (consumers dedup by id)[/yellow]"
        )
        raise typer.Exit(EXIT_FAILURE)


def run_republish(options: Options, start: Any, end: Any, tenant: str | None, event_type: str | None) -> Any:
    """Republish through the event index and bus of the local or deployed stack, with a bar."""
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from functions.errors import HubError
    from functions.logic.publishing.republish import republish as republish_window

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with (
            stack_adapters(options) as (index, store, bus),
            Progress(*columns, console=err, transient=True) as bar,
        ):
            tenants = [tenant] if tenant else store.tenant_ids()
            task = bar.add_task("republish", total=None)

            def progress(report: Any, total: int) -> None:
                described = f"republish: {report.put} put, {report.billed_events} billed"
                bar.update(task, description=described, completed=report.selected, total=total)

            return republish_window(tenants, start, end, index, bus, event_type=event_type, progress=progress)
    except HubError as error:
        raise CliError(f"republish failed: {error.message}") from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"republish failed: {error}") from None


@contextmanager
def stack_adapters(options: Options) -> Iterator[tuple[Any, Any, Any]]:
    """(EventIndex, EventStore, EventBridgeBus) of the deployed stack, or of the local one."""
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_bus import EventBridgeBus
    from functions.adapters.event_index import EventIndex
    from functions.adapters.event_store import EventStore

    deployed = options.deployed()
    if deployed is not None:
        from functions.observability import logger

        logger.setLevel("ERROR")
        store = deployed.event_store()
        bus = EventBridgeBus(deployed.output("EventBusName"), deployed.client("events"))
        yield EventIndex(store), store, bus
        return
    with local_stack_store(options.config, local_port(options, "republish")) as stack:
        blobs = BlobStore(stack.resources["bucket"], stack.client("s3"))
        store = EventStore(stack.resources["table"], stack.client("dynamodb"), blobs)
        bus = EventBridgeBus(stack.resources["event_bus"], stack.client("events"))
        yield EventIndex(store), store, bus
