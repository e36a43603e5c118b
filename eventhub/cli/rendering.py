"""What the command line prints: the two consoles (results on stdout, messages on stderr), event
tables and one-line events, one event's fields, and JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def short(value: Any, width: int = 24) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def events_table(events: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in ("occurredAt", "eventType", "source", "resource", "correlationId", "actor", "id"):
        table.add_column(name, overflow="fold")
    for event in events:
        resource = "/".join(str(event.get(k)) for k in ("resourceType", "resourceId") if event.get(k))
        actor = "/".join(str(event.get(k)) for k in ("actorType", "actorId") if event.get(k))
        table.add_row(
            str(event.get("occurredAt", "")),
            str(event.get("eventType", "")),
            str(event.get("source") or ""),
            short(resource, 40),
            short(event.get("correlationId"), 28),
            short(actor, 28),
            str(event.get("id", "")),
        )
    return table


def event_line(event: dict[str, Any]) -> str:
    resource = "/".join(str(event.get(k)) for k in ("resourceType", "resourceId") if event.get(k))
    return f"{event.get('occurredAt', '')}  {event.get('id', '')}  {event.get('eventType', '')}  {resource}"


def print_json(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=2)
    if out.is_terminal:
        out.print_json(text)
    else:
        print(text, flush=True)


def print_event(event: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in (
        "id", "eventType", "occurredAt", "tenantId", "resourceType", "resourceId",
        "correlationId", "causationId", "actorType", "actorId",
        "source", "sourceEventId", "channel", "receivedAt",
    ):  # fmt: skip
        if event.get(key) is not None:
            table.add_row(key, str(event[key]))
    out.print(table)
    out.print("[bold]payload[/bold]")
    print_json(event.get("payload"))
    for index, artifact in enumerate(event.get("artifacts") or []):
        name = artifact.get("name", f"#{index}")
        status = artifact.get("status", "")
        size = f" {artifact['size']} bytes" if artifact.get("size") is not None else ""
        out.print(f"[bold]artifact {index}[/bold] {name} ({status}{size})")
