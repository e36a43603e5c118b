"""Where the registry commands (``keys``, ``connections``, ``config apply``) write: the registry
table, the poll connections' schedules and, for a deployed stack, Secrets Manager.

Deployed (``--stack``/``--stack-outputs``): the stack's outputs ``RegistryTableName``,
``ScheduleGroupName``, ``SchedulerRoleArn``, ``PollerFunctionArn``, ``PollerDlqArn`` and
``SecretPrefix``, through the operator's AWS session. Locally: the embedded AWS of the stack that
``make run`` serves on the port of ``--api-url`` (as it registered in ``.local/run/<port>.json``),
with the local resource names; the local stack keeps secrets inline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from eventhub.cli.errors import EXIT_AUTH, EXIT_FAILURE, CliError
from eventhub.cli.maintenance import local_port
from eventhub.cli.options import Options

if TYPE_CHECKING:  # the runtime's modules are imported when a registry command runs
    from eventhub.registry.schedules import Schedules
    from functions.adapters.registry.table import RegistryTable

# The last part of a derived secret name, ``<SecretPrefix><connection id>/<part>`` (names, not values).
SIGNING_SECRET = "signing-secret"  # noqa: S105
POLL_CREDENTIAL = "poll-credential"  # noqa: S105
# How long the functions keep a registry answer, by default (their REGISTRY_CACHE_SECONDS; the
# value of functions.adapters.registry.cached.DEFAULT_TTL_SECONDS, written out so the command
# line imports no runtime module to say it).
CACHE_BOUND = "60 s"
AUTH_CODES = ("AccessDenied", "UnrecognizedClient", "InvalidClientTokenId", "ExpiredToken")


@dataclass(frozen=True)
class SecretsWriter:
    """Secrets Manager under the stack's prefix: ``<prefix><connection id>/<part>``."""

    client: Any
    prefix: str

    def name_for(self, connection_id: str, part: str) -> str:
        return f"{self.prefix}{connection_id}/{part}"

    def put(self, name: str, value: str) -> None:
        """Create the secret, or give an existing one this value as its current version."""
        try:
            self.client.describe_secret(SecretId=name)
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_secret(Name=name, SecretString=value)
            return
        self.client.put_secret_value(SecretId=name, SecretString=value)


@dataclass
class RegistryTarget:
    registry: RegistryTable
    deployed: bool
    origin: str  # for messages: which registry this is
    make_schedules: Callable[[], Schedules] = field(repr=False)
    make_secrets: Callable[[], SecretsWriter | None] = field(repr=False)

    @cached_property
    def schedules(self) -> Schedules:
        return self.make_schedules()

    @cached_property
    def secrets(self) -> SecretsWriter | None:
        """Secrets Manager for a deployed stack; None locally, where secrets are kept inline."""
        return self.make_secrets()


def registry_target(options: Options, command: str) -> RegistryTarget:
    """The registry of the deployed stack of --stack/--stack-outputs, else of the local stack."""
    from functions.observability import logger

    logger.setLevel("ERROR")  # the adapters' log lines would mix with the command's output
    deployed = options.deployed()
    if deployed is not None:
        return deployed_target(deployed)
    return local_target(local_port(options, command))


def deployed_target(deployed: Any) -> RegistryTarget:
    from eventhub.registry.schedules import Schedules, ScheduleTarget
    from functions.adapters.registry.table import RegistryTable

    table = deployed.output("RegistryTableName")

    def schedules() -> Schedules:
        target = ScheduleTarget(
            group=deployed.output("ScheduleGroupName"),
            poller_arn=deployed.output("PollerFunctionArn"),
            role_arn=deployed.output("SchedulerRoleArn"),
            dead_letter_arn=deployed.output("PollerDlqArn"),
        )
        return Schedules(deployed.client("scheduler"), target)

    def secrets() -> SecretsWriter:
        return SecretsWriter(deployed.client("secretsmanager"), deployed.output("SecretPrefix"))

    registry = RegistryTable(table, deployed.client("dynamodb"))
    return RegistryTarget(registry, True, f"{table} of {deployed.origin}", schedules, secrets)


def local_target(port: int) -> RegistryTarget:
    from eventhub.local.resources import ResourceNames, schedule_target
    from eventhub.local.scheduler import running_stack_endpoint
    from eventhub.registry.schedules import Schedules
    from functions.adapters.registry.table import RegistryTable

    endpoint = running_stack_endpoint(port)
    if endpoint is None:
        raise CliError(f"no local stack is running on port {port}: start it with `make run`")
    names = ResourceNames()
    registry = RegistryTable(names.registry, local_client(endpoint, "dynamodb"))
    return RegistryTarget(
        registry,
        False,
        f"the local stack on port {port}",
        lambda: Schedules(local_client(endpoint, "scheduler"), schedule_target(names)),
        lambda: None,
    )


def local_client(endpoint: str, service: str) -> Any:
    import boto3

    from eventhub.local.resources import REGION
    from eventhub.local.stack import FAKE_CREDENTIALS

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


def failure_of(error: Exception) -> tuple[str, int]:
    """An AWS failure as (its code or message, the exit code): never a request's values."""
    from botocore.exceptions import BotoCoreError, ClientError

    from eventhub.deployed import boto_exit

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "")) or "ClientError"
        return code, EXIT_AUTH if code.startswith(AUTH_CODES) else EXIT_FAILURE
    if isinstance(error, BotoCoreError):
        return str(error), boto_exit(error)
    message = str(getattr(error, "message", None) or type(error).__name__)  # StoreUnavailable
    return message, EXIT_AUTH if any(code in message for code in AUTH_CODES) else EXIT_FAILURE


@contextmanager
def aws_failures(what: str) -> Iterator[None]:
    """Turn a failed AWS call into one CliError line: ``<what> failed: <code>``."""
    from botocore.exceptions import BotoCoreError, ClientError

    from functions.errors import HubError

    try:
        yield
    except (BotoCoreError, ClientError, HubError) as error:
        detail, exit_code = failure_of(error)
        raise CliError(f"{what} failed: {detail}", exit_code) from None
