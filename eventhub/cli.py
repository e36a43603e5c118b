"""`eventhub`: the hub's command line.

Talks HTTP to the query API: the local stack (``make run``, http://127.0.0.1:3000, with an API key
from config/local.json) by default, or a deployed stack given ``--api-url``/``--api-key``, a
``cdk deploy --outputs-file`` JSON (``--stack-outputs``) or a stack name and AWS profile.

Exit codes: 0 success, 1 a failure of the hub or the network, 2 bad input (a bad option, a bad
time range, a 422 from the API), 3 missing or refused credentials (401), 4 not found (404).
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import typer
import urllib3
from rich.console import Console
from rich.markup import escape
from rich.table import Table

DEFAULT_API_URL = "http://127.0.0.1:3000"
DEFAULT_CONFIG = Path("config/local.json")
EVENTS_PATH = "/api/v1/events"

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """A failure to report in one readable line, with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


# -- where the API is, and with which key --------------------------------------------------------


@dataclass(frozen=True)
class Target:
    api_url: str
    api_key: str
    origin: str  # how the target was found, for messages (never the key itself)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def url_from_outputs(outputs: dict[str, Any], source: str) -> str:
    """The query API's base URL among a stack's outputs (``cdk deploy --outputs-file`` shape:
    ``{stack: {key: value}}``, or a flat ``{key: value}``)."""
    flat: dict[str, str] = {}
    for key, value in outputs.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items() if isinstance(v, str)})
        elif isinstance(value, str):
            flat[key] = value
    urls = {k: v for k, v in flat.items() if v.startswith(("https://", "http://"))}

    def rank(key: str) -> int:
        name = key.rsplit(".", 1)[-1].lower()
        if "query" in name and "url" in name:
            return 0
        if "api" in name and "url" in name and "webhook" not in name:
            return 1
        return 2

    ranked = sorted((rank(k), k) for k in urls if rank(k) < 2)
    if not ranked:
        raise CliError(f"{source}: no query API URL among the stack outputs ({', '.join(flat) or 'none'})")
    return urls[ranked[0][1]].rstrip("/")


def outputs_of_stack(stack_name: str, profile: str | None, region: str | None) -> dict[str, str]:
    """A deployed stack's outputs, read with the caller's AWS credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        exit_code = EXIT_NOT_FOUND if code == "ValidationError" else EXIT_AUTH
        raise CliError(f"cannot read the outputs of stack {stack_name!r}: {error}", exit_code) from None
    except BotoCoreError as error:  # no credentials, no region, no network
        raise CliError(f"cannot read the outputs of stack {stack_name!r}: {error}", EXIT_AUTH) from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def key_from_config(config_path: Path, tenant: str | None) -> str:
    """The first inline API key of ``tenant`` (or of the first key's tenant) in a local config."""
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(
            f"missing credentials: {config_path} not found; pass --config, --api-key or set EVENTHUB_API_KEY",
            EXIT_AUTH,
        ) from None
    except (OSError, ValueError) as error:
        raise CliError(f"{config_path}: cannot read the configuration ({error})", EXIT_BAD_INPUT) from None
    keys = [k for k in document.get("apiKeys", []) if isinstance(k, dict) and k.get("key")]
    if tenant is not None:
        keys = [k for k in keys if k.get("tenantId") == tenant]
    if not keys:
        which = f"tenant {tenant!r}" if tenant else "any tenant"
        raise CliError(
            f"missing credentials: {config_path} has no inline API key for {which}; pass --api-key",
            EXIT_AUTH,
        )
    return str(keys[0]["key"])


def resolve_target(
    *,
    api_url: str | None,
    api_key: str | None,
    tenant: str | None,
    config_path: Path,
    stack_outputs: Path | None,
    stack_name: str | None,
    profile: str | None,
    region: str | None,
) -> Target:
    origin = "--api-url"
    if api_url is None and stack_outputs is not None:
        try:
            outputs = json.loads(stack_outputs.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CliError(f"{stack_outputs}: cannot read stack outputs ({error})", EXIT_BAD_INPUT) from None
        if not isinstance(outputs, dict):
            raise CliError(f"{stack_outputs}: expected a JSON object of stack outputs", EXIT_BAD_INPUT)
        api_url, origin = url_from_outputs(outputs, str(stack_outputs)), str(stack_outputs)
    elif api_url is None and stack_name is not None:
        api_url = url_from_outputs(outputs_of_stack(stack_name, profile, region), f"stack {stack_name}")
        origin = f"stack {stack_name}"
    elif api_url is None:
        api_url, origin = DEFAULT_API_URL, "the local stack"
    if not api_url.startswith(("http://", "https://")):
        raise CliError(f"--api-url must be an http(s) URL, got {api_url!r}", EXIT_BAD_INPUT)
    if api_key is None:
        if not _is_loopback(api_url):
            raise CliError(
                f"missing credentials: {api_url} needs an API key; pass --api-key or set EVENTHUB_API_KEY",
                EXIT_AUTH,
            )
        api_key = key_from_config(config_path, tenant)
    return Target(api_url=api_url.rstrip("/"), api_key=api_key, origin=origin)


# -- HTTP --------------------------------------------------------------------------------------


def describe_error(status: int, body: bytes) -> str:
    """An API error body in one readable line (422 detail lists, {error, message}, or text)."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), list):
        parts = []
        for item in data["detail"]:
            if not isinstance(item, dict):
                continue
            loc = [str(p) for p in item.get("loc", []) if p not in ("query", "path", "body")]
            msg = item.get("msg") or item.get("type") or "invalid"
            parts.append(f"{'.'.join(loc) or 'request'}: {msg}")
        if parts:
            return "; ".join(parts)
    if isinstance(data, dict):
        message = data.get("message") or data.get("detail") or data.get("error")
        if isinstance(message, str) and message:
            return message
    text = body.decode("utf-8", "replace").strip()[:200]
    return text or f"HTTP {status}"


class ApiClient:
    """The query API over HTTP. Raises CliError with a readable message for any failure."""

    def __init__(self, target: Target, *, timeout: float = 10.0) -> None:
        self.target = target
        self.http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=urllib3.Retry(total=2, connect=2, read=0, status=0, backoff_factor=0.2, redirect=0),
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.target.api_url}{path}" + (f"?{query}" if query else "")
        try:
            response = self.http.request(
                "GET",
                url,
                headers={"X-API-Key": self.target.api_key, "Accept": "application/json"},
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as error:
            hint = " (is `make run` running?)" if _is_loopback(self.target.api_url) else ""
            reason = type(getattr(error, "reason", None) or error).__name__
            raise CliError(f"cannot reach {self.target.api_url} ({reason}){hint}") from None
        status = response.status
        if status == 401:
            raise CliError(f"unauthorized: {describe_error(status, response.data)}", EXIT_AUTH)
        if status == 404:
            raise CliError(f"not found: {describe_error(status, response.data)}", EXIT_NOT_FOUND)
        if status == 422 or status == 400:
            raise CliError(f"invalid request: {describe_error(status, response.data)}", EXIT_BAD_INPUT)
        if status >= 400:
            raise CliError(f"the API answered {status}: {describe_error(status, response.data)}")
        try:
            return json.loads(response.data)
        except ValueError:
            raise CliError(f"the API answered {status} with a body that is not JSON") from None

    def list_events(self, **params: Any) -> dict[str, Any]:
        return self.get(EVENTS_PATH, params)

    def get_event(self, event_id: str) -> dict[str, Any]:
        return self.get(f"{EVENTS_PATH}/{event_id}")

    def artifacts(self, event_id: str) -> list[dict[str, Any]] | None:
        """The event's artifacts, or None when the API has no artifacts route."""
        try:
            data = self.get(f"{EVENTS_PATH}/{event_id}/artifacts")
        except CliError as error:
            if error.exit_code in (EXIT_NOT_FOUND, EXIT_BAD_INPUT):
                return None
            raise
        items = data.get("artifacts") if isinstance(data, dict) else data
        return items if isinstance(items, list) else None


# -- time options --------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(value: str, option: str, *, now: datetime | None = None) -> datetime:
    """ISO 8601 (``2024-05-01``, ``2024-05-01T10:00:00Z``), unix seconds, ``now``, or a span ago
    (``15m``, ``2h``, ``7d``)."""
    text = value.strip()
    now = now or datetime.now(UTC)
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), tz=UTC)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise CliError(
            f"{option}: {value!r} is not a time; use ISO 8601 (2024-05-01T10:00:00Z), unix seconds, "
            "'now' or a span ago such as 15m, 2h, 7d",
            EXIT_BAD_INPUT,
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def time_range(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """The --from/--to pair as ISO 8601 UTC strings, refused when --from is after --to."""
    now = datetime.now(UTC)
    begin = parse_moment(start, "--from", now=now) if start else None
    finish = parse_moment(end, "--to", now=now) if end else None
    if begin and finish and begin > finish:
        raise CliError(
            f"bad time range: --from {begin.isoformat()} is after --to {finish.isoformat()}", EXIT_BAD_INPUT
        )

    def iso(moment: datetime | None) -> str | None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None

    return iso(begin), iso(finish)


# -- rendering -----------------------------------------------------------------------------------


def _short(value: Any, width: int = 24) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def events_table(events: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in ("occurredAt", "eventType", "resource", "correlationId", "actor", "id"):
        table.add_column(name, overflow="fold")
    for event in events:
        resource = "/".join(str(event.get(k)) for k in ("resourceType", "resourceId") if event.get(k))
        actor = "/".join(str(event.get(k)) for k in ("actorType", "actorId") if event.get(k))
        table.add_row(
            str(event.get("occurredAt", "")),
            str(event.get("eventType", "")),
            _short(resource, 40),
            _short(event.get("correlationId"), 28),
            _short(actor, 28),
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


def reported(command: Callable[..., None]) -> Callable[..., None]:
    """Turn a CliError into one red line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except CliError as error:
            err.print(f"[bold red]error:[/bold red] {escape(error.message)}")
            raise typer.Exit(error.exit_code) from None

    return wrapper


# -- the command line ----------------------------------------------------------------------------

app = typer.Typer(
    name="eventhub",
    help="Operate the event hub: read events, follow them live, and run maintenance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
events_app = typer.Typer(help="Read stored events through the query API.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@dataclass
class Options:
    api_url: str | None = None
    api_key: str | None = None
    tenant: str | None = None
    config: Path = DEFAULT_CONFIG
    stack_outputs: Path | None = None
    stack_name: str | None = None
    profile: str | None = None
    region: str | None = None
    timeout: float = 10.0
    _client: ApiClient | None = field(default=None, repr=False)

    def client(self) -> ApiClient:
        if self._client is None:
            target = resolve_target(
                api_url=self.api_url,
                api_key=self.api_key,
                tenant=self.tenant,
                config_path=self.config,
                stack_outputs=self.stack_outputs,
                stack_name=self.stack_name,
                profile=self.profile,
                region=self.region,
            )
            self._client = ApiClient(target, timeout=self.timeout)
        return self._client

    def deployed(self) -> Any:
        """The deployed stack of --stack-outputs or --stack (an ``eventhub.deployed.DeployedStack``),
        or None: the maintenance commands then work on the local stack."""
        if self.stack_outputs is None and self.stack_name is None:
            return None
        from eventhub.deployed import DeployedStack

        return DeployedStack.open(
            stack_outputs=self.stack_outputs,
            stack_name=self.stack_name,
            profile=self.profile,
            region=self.region,
        )


def _options(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj


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


EventTypeOpt = Annotated[str | None, typer.Option("--event-type", help="Only events of this type.")]
ResourceTypeOpt = Annotated[str | None, typer.Option("--resource-type", help="Only this kind of resource.")]
ResourceIdOpt = Annotated[
    str | None, typer.Option("--resource-id", help="Only this resource (with its type).")
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
        _options(ctx)
        .client()
        .list_events(
            event_type=event_type,
            resource_type=resource_type,
            resource_id=resource_id,
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


@events_app.command("get")
@reported
def events_get(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="The event's id (a uuid).")],
    as_json: JsonOpt = False,
) -> None:
    """Show one event: its fields, payload and artifacts."""
    client = _options(ctx).client()
    event = client.get_event(event_id.strip())
    artifacts = client.artifacts(event_id.strip())
    if artifacts is not None:
        event = {**event, "artifacts": artifacts}
    print_json(event) if as_json else _print_event(event)


def _print_event(event: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in (
        "id", "eventType", "occurredAt", "tenantId", "resourceType", "resourceId",
        "correlationId", "causationId", "actorType", "actorId",
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
    client = _options(ctx).client()
    params = {"event_type": event_type, "resource_type": resource_type, "resource_id": resource_id}

    def emit(event: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(event, ensure_ascii=False), flush=True)
        else:
            out.print(event_line(event), markup=False)

    try:
        tail_events(client, params, lines=lines, interval=interval, polls=polls, emit=emit)
    except KeyboardInterrupt:
        return


# -- maintenance commands (backed by the runtime's own modules when they are installed) ----------


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


def _local_port(options: Options, command: str) -> int:
    """The port of the local stack the command works on (from --api-url, default 3000)."""
    url = options.api_url or DEFAULT_API_URL
    if not _is_loopback(url):
        raise CliError(
            f"`eventhub {command}` works on the local stack (`make run`); {url} is not a local address",
            EXIT_BAD_INPUT,
        )
    return urlsplit(url).port or 80


@app.command()
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
    options = _options(ctx)
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
    port = 0 if deployed is not None else _local_port(options, "backfill")
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
            yield services, factory.hub_config()
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


@app.command()
@reported
def replay(ctx: typer.Context) -> None:
    """Redrive the dead-letter queues and report what was done: spilled events back into the
    store, failed copies copied again, failed aggregator batches counted again (and, deployed,
    failed scheduled polls run again). The local stack, or the deployed one of --stack."""
    options = _options(ctx)
    deployed = options.deployed()
    if deployed is not None:
        lines, left = redrive_deployed(deployed, options.config)
    else:
        port = _local_port(options, "replay")
        with local_stack_store(options.config, port) as stack:
            lines, left = redrive_all(stack)
    for line in lines:
        out.print(line, markup=False)
    if left:
        err.print(f"[yellow]{left} message(s) left in the queues: see the lines above[/yellow]")
        raise typer.Exit(EXIT_FAILURE)


def redrive_all(stack: Any) -> tuple[list[str], int]:
    """Every dead-letter queue of the stack, redriven; one line each, and how many messages stay."""
    from eventhub.local.streams import local_subscriptions
    from functions.adapters import factory
    from functions.adapters.spill import SpillQueue
    from functions.logic.polling.recovery import restore_spilled

    spill = SpillQueue(stack.resources["spill_queue_url"], factory.client("sqs"), factory.blob_store())
    report = restore_spilled(spill, factory.event_store(), factory.hub_config(), wait_seconds=0)
    lines = [
        f"spilled events: {report.restored} restored, {report.duplicates} already stored, "
        f"{report.left_in_queue} left in the queue (cannot be mapped)"
    ]
    left = report.left_in_queue
    names = {"copier": "failed copies", "aggregator": "failed aggregator batches"}
    for subscription in local_subscriptions():
        if subscription.on_failure_queue is None:
            continue
        redriven, records, kept = redrive_stream_failures(stack, subscription)
        lines.append(
            f"{names.get(subscription.name, subscription.name)}: {redriven} batch(es) of {records} record(s) "
            f"redriven, {kept} left in {subscription.on_failure_queue}"
        )
        left += kept
    return lines, left


def redrive_deployed(deployed: Any, config_path: Path) -> tuple[list[str], int]:
    """The deployed stack's queues, redriven from here with its session: spilled events mapped
    and stored by the poller's recovery logic, failed batches and polls handed to their function
    again. One line per queue, and how many messages stay."""
    from botocore.exceptions import BotoCoreError, ClientError

    from eventhub.deployed import FAILURE_QUEUE_OUTPUTS
    from eventhub.local.streams import local_subscriptions
    from functions.adapters.spill import SpillQueue
    from functions.errors import HubError
    from functions.logic.polling.recovery import restore_spilled
    from functions.models.config import load_config
    from functions.observability import logger

    logger.setLevel("ERROR")
    try:
        config = load_config(config_path)
    except Exception as error:
        raise CliError(f"{config_path}: cannot read the configuration ({error})", EXIT_BAD_INPUT) from None
    store = deployed.event_store()
    spill = SpillQueue(deployed.output("SpillQueueUrl"), deployed.client("sqs"), store.blobs)
    try:
        report = restore_spilled(spill, store, config, wait_seconds=0)
        lines = [
            f"spilled events: {report.restored} restored, {report.duplicates} already stored, "
            f"{report.left_in_queue} left in the queue (cannot be mapped)"
        ]
        left = report.left_in_queue
        names = {"copier": "failed copies", "aggregator": "failed aggregator batches"}
        for subscription in local_subscriptions():
            url = deployed.output(FAILURE_QUEUE_OUTPUTS[subscription.name])
            redriven, records, kept = redrive_stream_failures(deployed, subscription, url=url)
            lines.append(
                f"{names[subscription.name]}: {redriven} batch(es) of {records} record(s) redriven, "
                f"{kept} left in the queue"
            )
            left += kept
        polls, kept = redrive_failed_polls(deployed)
        lines.append(f"failed scheduled polls: {polls} run again, {kept} left in the queue")
        left += kept
    except (HubError, BotoCoreError, ClientError) as error:
        raise CliError(f"replay stopped: {getattr(error, 'message', None) or error}") from None
    return lines, left


def redrive_failed_polls(deployed: Any) -> tuple[int, int]:
    """EventBridge Scheduler's dead letters of the poller (the schedule's ``{"connectionId"}``
    input): the poller invoked again with it; a message goes once that run did not fail."""
    from eventhub.deployed import FUNCTION_OUTPUTS

    poller = next(h for h, key in FUNCTION_OUTPUTS.items() if key == "PollerFunctionName")
    sqs, url = deployed.client("sqs"), deployed.output("PollerDlqQueueUrl")
    done = 0
    kept: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                request = json.loads(message["Body"])
                summary = deployed.invoke(poller, {"connectionId": str(request["connectionId"])})
                ok = not isinstance(summary, dict) or summary.get("outcome") not in ("failed", "auth_failed")
            except (CliError, ValueError, KeyError, TypeError):
                ok = False
            if ok:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                done += 1
            else:
                kept.append(message["ReceiptHandle"])
    for handle in kept:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return done, len(kept)


def redrive_stream_failures(stack: Any, subscription: Any, *, url: str | None = None) -> tuple[int, int, int]:
    """Lambda's on-failure messages of one stream consumer (the queue at ``url``, or the local
    queue of the subscription): read the batch's records back from the stream and hand them over
    again. A message goes only once its records went through."""
    from botocore.exceptions import ClientError

    sqs = stack.client("sqs")
    if url is None:
        try:
            url = sqs.get_queue_url(QueueName=subscription.on_failure_queue)["QueueUrl"]
        except ClientError:
            return 0, 0, 0  # no such queue: nothing ever failed
    streams = stack.client("dynamodbstreams")
    redriven = records_total = 0
    kept: list[str] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            info = json.loads(message["Body"]).get("DDBStreamBatchInfo") or {}
            records = stream_records(streams, info)
            if records and handed_over(stack, subscription, records, info["streamArn"]):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                redriven += 1
                records_total += len(records)
            else:
                kept.append(message["ReceiptHandle"])
    for handle in kept:  # visible again for the next replay
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return redriven, records_total, len(kept)


def stream_records(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one failed batch (its shard, first to last sequence number), if the stream
    still has them (DynamoDB keeps a stream's records for 24 hours)."""
    from botocore.exceptions import ClientError

    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        last = int(info["endSequenceNumber"])
        found: list[dict[str, Any]] = []
        for _ in range(1000):  # a batch is at most a few thousand records
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                if int(record["dynamodb"]["SequenceNumber"]) > last:
                    return found
                found.append(record)
            iterator = page.get("NextShardIterator")
            if not iterator or not page["Records"]:
                break
        return found
    except (ClientError, KeyError, ValueError):
        return []


def handed_over(stack: Any, subscription: Any, records: list[dict[str, Any]], stream_arn: str) -> bool:
    """Redrive one failed batch. Copies: the copier's recopy action for each event of the batch.
    Counts: the aggregator again with the same records (it counts each event once, however often)."""
    from eventhub.local.streams import AGGREGATOR_HANDLER, COPIER_HANDLER, admitted, lambda_record

    batch = [r for r in (lambda_record(raw, stream_arn) for raw in records) if admitted(subscription, r)]
    try:
        if subscription.handler == COPIER_HANDLER:
            event_ids = dict.fromkeys(str(r["dynamodb"]["Keys"]["id"]["S"]) for r in batch)
            for event_id in event_ids:
                report = stack.invoke(COPIER_HANDLER, {"action": "recopy", "eventId": event_id})
                if report.get("found") and any(
                    a.get("status") != "copied" for a in report.get("artifacts", [])
                ):
                    return False
            return True
        if subscription.handler == AGGREGATOR_HANDLER:
            for first in range(0, len(batch), subscription.batch_size):
                answer = stack.invoke(
                    AGGREGATOR_HANDLER, {"Records": batch[first : first + subscription.batch_size]}
                )
                if isinstance(answer, dict) and answer.get("batchItemFailures"):
                    return False
            return True
    except Exception:  # the function failed again: the message stays for a later replay
        return False
    return False


@app.command(context_settings=PASS_THROUGH)
@reported
def recopy(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="The event whose artifacts to copy again.")],
) -> None:
    """Copy an event's failed, expired or refused artifacts again: the local stack of --api-url,
    or the copier function of the deployed stack of --stack/--stack-outputs."""
    if not UUID.match(event_id.strip()):
        raise CliError(f"{event_id!r} is not an event id (a uuid)", EXIT_BAD_INPUT)
    deployed = _options(ctx).deployed()
    if deployed is not None:
        _finish(recopy_deployed(deployed, event_id.strip().lower()))
        return
    port = _local_port(_options(ctx), "recopy")
    _finish(delegate("recopy", ["--event", event_id.strip().lower(), "--port", str(port), *ctx.args]))


@app.command("rebuild-counters", context_settings=PASS_THROUGH)
@reported
def rebuild_counters(ctx: typer.Context) -> None:
    """Recompute the aggregate counters from the stored events (the local stack, or the deployed
    table of --stack/--stack-outputs; --tenant T for one tenant)."""
    deployed = _options(ctx).deployed()
    if deployed is not None:
        _finish(rebuild_deployed(deployed, ctx.args))
        return
    _finish(delegate("rebuild-counters", ["--config", str(_options(ctx).config), *ctx.args]))


def recopy_deployed(deployed: Any, event_id: str) -> int:
    """The deployed copier's recopy action for one event; its outcome per artifact."""
    from eventhub.local.streams import COPIER_HANDLER

    report = deployed.invoke(COPIER_HANDLER, {"action": "recopy", "eventId": event_id})
    if not isinstance(report, dict):
        raise CliError(f"the copier answered something that is not a recopy report: {_short(report, 80)}")
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


def main() -> None:
    app()


def iter_pages(client: ApiClient, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every event matching ``params``, newest first, page by page (cursor when offered)."""
    cursor: str | None = None
    offset = 0
    while True:
        page = client.list_events(**params, limit=100, offset=None if cursor else offset, cursor=cursor)
        events = page.get("events", [])
        yield from events
        if not page.get("hasNext") or not events:
            return
        cursor = page.get("nextCursor")
        offset += len(events)
