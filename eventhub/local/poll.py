"""``make poll CONNECTION=id``: run one poll of one connection now and print its summary.

    python -m eventhub.local.poll --connection vai-pull [--config config/local.json]

It invokes the poller handler in-process, as the scheduler does, against the store of the
local stack that ``make run`` started on ``--port`` (found through the registration it
leaves in ``.local/run/``), or against ``--aws-endpoint-url``. With neither, it starts an
embedded store for this one run, and says that what it stored is discarded on exit.
Exit code 0 for a completed, partial or skipped run; 1 when the run failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from eventhub.local.scheduler import HANDLER, TIMEOUT_SECONDS, running_stack_endpoint

OK_OUTCOMES = ("completed", "partial", "skipped")
METRICS_SWITCH = "POWERTOOLS_METRICS_DISABLED"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eventhub.local.poll", description=__doc__)
    parser.add_argument("--connection", required=True, help="a poll connection of the configuration")
    parser.add_argument("--config", default=os.environ.get("CONFIG") or "config/local.json")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000), help="of `make run`")
    parser.add_argument("--aws-endpoint-url", default=os.environ.get("EVENTHUB_AWS_ENDPOINT_URL") or None)
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, help="the run's time, in seconds")
    parser.add_argument("--verbose", action="store_true", help="show the handler's log lines and metrics")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.verbose:
        return _poll(args)
    # Quiet: the summary line only (no JSON log lines, no metric blobs), for this call alone.
    from functions.observability import logger

    saved_env, saved_level = os.environ.get(METRICS_SWITCH), logger.log_level
    os.environ[METRICS_SWITCH] = "true"
    logger.setLevel("ERROR")
    try:
        return _poll(args)
    finally:
        logger.setLevel(saved_level)
        if saved_env is None:
            os.environ.pop(METRICS_SWITCH, None)
        else:
            os.environ[METRICS_SWITCH] = saved_env


def _poll(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from eventhub.local.stack import LocalStack
    from functions.logic.polling.model import PollSummary
    from functions.models.config import load_config

    try:
        config = load_config(args.config)
    except (OSError, ValueError) as error:
        print(f"poll: {error}", file=sys.stderr)
        return 1
    connection = config.connection(args.connection)
    if connection is None or connection.poll is None:
        known = ", ".join(c.id for c in config.connections if c.poll is not None) or "none"
        print(f"poll: no poll connection {args.connection!r} in {args.config} (poll connections: {known})",
              file=sys.stderr)  # fmt: skip
        return 1
    endpoint = args.aws_endpoint_url or running_stack_endpoint(args.port)
    if endpoint is None:
        print("poll: no local stack is running; using an embedded store, discarded on exit", file=sys.stderr)
    stack = LocalStack(args.config, services=[], aws_endpoint_url=endpoint)
    try:
        stack.start()
    except (OSError, ValueError, BotoCoreError, ClientError) as error:
        print(f"poll: cannot reach the local store: {error}", file=sys.stderr)
        return 1
    try:
        result: Any = stack.invoke(HANDLER, {"connectionId": connection.id}, timeout_seconds=args.timeout)
    except Exception as error:  # the run failed: its summary was logged; say why in one line
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        print(f"{connection.id} ({connection.provider}): failed - {type(error).__name__}: {message}")
        return 1
    finally:
        stack.stop()
    summary = PollSummary.model_validate(result)
    print(summary.line())
    return 0 if summary.outcome in OK_OUTCOMES else 1


if __name__ == "__main__":
    sys.exit(main())
