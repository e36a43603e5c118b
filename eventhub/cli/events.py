"""``eventhub events list|get|tail``: read stored events through the query API."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any

import typer

from eventhub.cli.api_client import ApiClient
from eventhub.cli.errors import EXIT_BAD_INPUT, EXIT_NOT_FOUND, CliError, reported
from eventhub.cli.options import options_of
from eventhub.cli.rendering import err, event_line, events_table, out, print_event, print_json
from eventhub.cli.time_options import time_range

events_app = typer.Typer(help="Read stored events through the query API.", no_args_is_help=True)

EventTypeOpt = Annotated[str | None, typer.Option("--event-type", help="Only events of this type.")]
ResourceTypeOpt = Annotated[str | None, typer.Option("--resource-type", help="Only this kind of resource.")]
ResourceIdOpt = Annotated[
    str | None, typer.Option("--resource-id", help="Only this resource (with its type).")
]
SourceOpt = Annotated[
    str | None,
    typer.Option("--source", help="Only events of this provider (klavi, exa, …); with --from/--to only."),
]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="From this time: ISO 8601, unix seconds, or a span ago (2h, 7d).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Up to this time (same forms as --from).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")]


@events_app.command("list")
@reported
def events_list(
    ctx: typer.Context,
    event_type: EventTypeOpt = None,
    resource_type: ResourceTypeOpt = None,
    resource_id: ResourceIdOpt = None,
    source: SourceOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Events per page (1-100).")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many events.")] = 0,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page's nextCursor.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List events, newest first, with the query API's filters."""
    frm, to = time_range(start, end)
    page = (
        options_of(ctx)
        .client()
        .list_events(
            event_type=event_type,
            resource_type=resource_type,
            resource_id=resource_id,
            source=source,
            **{"from": frm, "to": to},
            limit=limit,
            offset=offset if cursor is None else None,
            cursor=cursor,
        )
    )
    if as_json:
        print_json(page)
        return
    events = page.get("events", [])
    out.print(events_table(events))
    shown = f"{len(events)} of {page.get('total', '?')} events"
    more = ""
    if page.get("hasNext"):
        more = f"; next page: --offset {offset + len(events)}"
        if page.get("nextCursor"):
            more += f" or --cursor {page['nextCursor']}"
    err.print(f"[dim]{shown}{more}[/dim]")


def find_event(client: ApiClient, source: str, source_event_id: str) -> dict[str, Any]:
    """The event its provider knows by ``source_event_id`` (one read by key on the API's side)."""
    events = client.list_events(source=source, source_event_id=source_event_id).get("events", [])
    if not events:
        raise CliError(f"not found: no {source} event with provider id {source_event_id!r}", EXIT_NOT_FOUND)
    return events[0]


@events_app.command("get")
@reported
def events_get(
    ctx: typer.Context,
    event_id: Annotated[str | None, typer.Argument(help="The event's id (a uuid).")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="With --source-event-id: the provider (klavi, exa, …).")
    ] = None,
    source_event_id: Annotated[
        str | None, typer.Option("--source-event-id", help="Find the event by its provider's own id.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one event: its fields, payload and artifacts. By our id, or by the provider's
    (--source klavi --source-event-id <id>)."""
    if (event_id is None) == (source_event_id is None):
        raise CliError("give the event's id, or --source with --source-event-id (not both)", EXIT_BAD_INPUT)
    if source_event_id is not None and not source:
        raise CliError("--source-event-id needs --source (the provider that gave the id)", EXIT_BAD_INPUT)
    client = options_of(ctx).client()
    if event_id is not None:
        event = client.get_event(event_id.strip())
    else:
        assert source is not None and source_event_id is not None
        event = find_event(client, source, source_event_id)
    artifacts = client.artifacts(str(event.get("id") or event_id).strip())
    if artifacts is not None:
        event = {**event, "artifacts": artifacts}
    print_json(event) if as_json else print_event(event)


def poll_new_events(
    client: ApiClient, params: dict[str, Any], seen: OrderedDict[str, None], *, max_pages: int = 10
) -> list[dict[str, Any]]:
    """Events not seen before, oldest first. Reads the newest page, and older pages while a whole
    page is unseen (a burst larger than a page between two polls)."""
    fresh: list[dict[str, Any]] = []
    cursor: str | None = None
    offset = 0
    for _ in range(max_pages):
        page = client.list_events(**params, limit=100, offset=None if cursor else offset, cursor=cursor)
        events = page.get("events", [])
        unseen = [e for e in events if e.get("id") not in seen]
        fresh.extend(unseen)
        if len(unseen) < len(events) or not page.get("hasNext") or not seen:
            break
        cursor = page.get("nextCursor")
        offset += len(events)
    fresh.sort(key=lambda e: (e.get("occurredAt", ""), e.get("id", "")))
    return fresh


def tail_events(
    client: ApiClient,
    params: dict[str, Any],
    *,
    lines: int,
    interval: float,
    polls: int | None,
    emit: Callable[[dict[str, Any]], None],
    sleep: Callable[[float], None] = time.sleep,
    remember: int = 10_000,
) -> int:
    """Print the last ``lines`` events, then every new one as it appears. Returns how many printed."""
    seen: OrderedDict[str, None] = OrderedDict()
    printed = 0
    first = client.list_events(**params, limit=100, offset=0).get("events", [])
    for event in reversed(first[:lines]):
        emit(event)
        printed += 1
    for event in first:
        seen[event.get("id", "")] = None
    count = 0
    while polls is None or count < polls:
        sleep(interval)
        count += 1
        for event in poll_new_events(client, params, seen):
            emit(event)
            printed += 1
            seen[event.get("id", "")] = None
        while len(seen) > remember:
            seen.popitem(last=False)
    return printed


@events_app.command("tail")
@reported
def events_tail(
    ctx: typer.Context,
    event_type: EventTypeOpt = None,
    resource_type: ResourceTypeOpt = None,
    resource_id: ResourceIdOpt = None,
    source: SourceOpt = None,
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=0, max=100, help="Recent events to show first.")
    ] = 10,
    interval: Annotated[float, typer.Option(min=0.0, help="Seconds between polls.")] = 2.0,
    polls: Annotated[
        int | None, typer.Option(min=0, help="Stop after this many polls (default: never).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Follow new events live: poll the list and print events not seen before (Ctrl-C stops)."""
    client = options_of(ctx).client()
    params = {
        "event_type": event_type,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "source": source,
    }

    def emit(event: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(event, ensure_ascii=False), flush=True)
        else:
            out.print(event_line(event), markup=False)

    try:
        tail_events(client, params, lines=lines, interval=interval, polls=polls, emit=emit)
    except KeyboardInterrupt:
        return
