"""The command line's global options (kept on the root context), turned on demand into a query
API client or a deployed stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from eventhub.cli.api_client import ApiClient
from eventhub.cli.target import DEFAULT_CONFIG, resolve_target


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


def options_of(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj
