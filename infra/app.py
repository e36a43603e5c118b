#!/usr/bin/env python3
"""The CDK app: ``python infra/app.py`` (or ``cdk synth``/``cdk deploy``, which run it).

The hub configuration is read at synth time from ``-c config=PATH``, else
``$EVENTHUB_STACK_CONFIG``; with neither, or with a configuration that cannot be deployed (inline
secrets, loopback artifacts, too large for Lambda's environment), synthesis stops with a message
that says why and what to do. ``-c apiGatewayAccountRole=existing`` leaves API Gateway's account
CloudWatch role alone (the stack creates it otherwise); ``-c retentionDays=N`` sets a TTL;
``-c intakeConcurrency=N|unreserved`` sets the intake's reserved concurrency (default 20), which
bounds the webhooks' function URL; ``-c querySnapStart=on`` turns Lambda SnapStart on for the query
function (off by default).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: import `infra` and `functions` from the repository
    sys.path[0] = str(ROOT)

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra import constants as c  # noqa: E402
from infra.stack import EventHubStack  # noqa: E402
from infra.stack_config import (  # noqa: E402
    StackConfigError,
    config_path,
    create_account_role,
    intake_concurrency,
    load_stack_config,
    query_snap_start,
)


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags), so a direct ``python infra/app.py`` synth matches the CLI's."""
    return dict(json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")).get("context", {}))


def build_app(
    context: dict[str, Any] | None = None, *, outdir: str | None = None, nag: bool = True
) -> tuple[cdk.App, EventHubStack]:
    """The app with its one stack. Raises StackConfigError before building anything if the config is bad."""
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = load_stack_config(config_path(app.node.try_get_context(c.CONFIG_CONTEXT_KEY)))
    retention = int(app.node.try_get_context(c.RETENTION_CONTEXT_KEY) or 0)
    stack = EventHubStack(
        app,
        c.STACK_NAME,
        config=config,
        retention_days=retention,
        create_account_role=create_account_role(app.node.try_get_context(c.ACCOUNT_ROLE_CONTEXT_KEY)),
        intake_concurrency=intake_concurrency(app.node.try_get_context(c.INTAKE_CONCURRENCY_CONTEXT_KEY)),
        query_snap_start=query_snap_start(app.node.try_get_context(c.QUERY_SNAP_START_CONTEXT_KEY)),
        description="Event hub: webhooks and polled provider events into DynamoDB, artifacts into S3",
    )
    if nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


def main() -> int:
    try:
        app, _ = build_app()
    except StackConfigError as error:
        print(f"eventhub: cannot synthesize the stack: {error}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as error:  # e.g. an unsuppressed cdk-nag error, listed above by CDK
        print(f"eventhub: synthesis failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
