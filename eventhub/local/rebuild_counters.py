"""``make rebuild-counters``: recompute the aggregate counters from the stored events.

    python -m eventhub.local.rebuild_counters [--tenant acme] [--port 3000]
    python -m eventhub.local.rebuild_counters --aws --table <EventsTableName> [--tenant acme]

Reads every stored event (a Scan: this is a repair command, never a request path), computes
each tenant's counters exactly as the aggregator would, overwrites the counter items and
deletes counter items no event supports any more. Events received in the last two days also
get their ``counted`` marker, so stream records still on their way add nothing twice.

Run it while the stream is quiet: an event stored during the rebuild, in a bucket the
rebuild is rewriting, can be missed (run it again, or let the next rebuild fix it).

It works on the store of the local stack that ``make run`` serves on ``--port`` (found through
the note it leaves in ``.local/run/``), on ``--aws-endpoint-url``, or with ``--aws`` on the
deployed table named by ``--table`` (your AWS credentials). Exit code 0, or 1 with a message.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from eventhub.local.resources import ResourceNames


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eventhub.local.rebuild_counters", description=__doc__)
    parser.add_argument("--config", default=os.environ.get("CONFIG") or "config/local.json", help="unused")
    parser.add_argument("--tenant", default=None, help="rebuild one tenant only (default: every tenant)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000), help="of `make run`")
    parser.add_argument("--aws-endpoint-url", default=os.environ.get("EVENTHUB_AWS_ENDPOINT_URL") or None)
    parser.add_argument("--aws", action="store_true", help="the deployed table, with your AWS credentials")
    parser.add_argument("--table", default=None, help=f"table name (default: {ResourceNames().table})")
    return parser.parse_args(argv)


def _client(args: argparse.Namespace) -> tuple[Any, str] | str:
    """The DynamoDB client and table to work on, or why there is none."""
    import boto3

    if args.aws:
        if not args.table:
            return "--aws needs --table (the stack's events table name)"
        return boto3.client("dynamodb"), args.table
    endpoint = args.aws_endpoint_url
    if endpoint is None:
        from eventhub.local.scheduler import running_stack_endpoint

        endpoint = running_stack_endpoint(args.port)
    if endpoint is None:
        return f"no local stack is running on port {args.port}: start `make run`, or pass --aws-endpoint-url"
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the embedded moto's fixed credentials
    )
    return client, args.table or ResourceNames().table


def rebuild(client: Any, table: str, tenant: str | None) -> tuple[int, int]:
    """(events read, counter items written) for ``table`` through the same adapters as Lambda."""
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.counters import CounterStore
    from functions.adapters.event_store import EventStore
    from functions.logic.aggregating.rebuild import default_mark_cutoff, rebuild_counters

    counters = CounterStore(EventStore(table, client, BlobStore("unused", None)))
    result = rebuild_counters(
        counters.iter_counted_events(tenant),
        counters,
        tenant_id=tenant,
        mark_received_after=default_mark_cutoff(datetime.now(UTC)),
    )
    return result.events, result.counters


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    found = _client(args)
    if isinstance(found, str):
        print(f"rebuild-counters: {found}", file=sys.stderr)
        return 1
    client, table = found
    from botocore.exceptions import BotoCoreError, ClientError

    from functions.errors import HubError

    try:
        events, items = rebuild(client, table, args.tenant)
    except (BotoCoreError, ClientError, HubError) as error:
        print(f"rebuild-counters: {table}: {error}", file=sys.stderr)
        return 1
    scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
    print(f"rebuilt {items} counter items from {events} events ({scope}) in {table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
