"""A deployed event hub stack, as the command line's maintenance commands see it.

Its outputs (``infra/stack.py``: ``TableName``, ``BucketName``, the ``<Name>QueueUrl`` of each
queue, the ``<Name>FunctionName`` of the poller, copier and aggregator) come from a
``cdk deploy --outputs-file`` JSON or from CloudFormation (``--stack NAME``); every AWS call goes
through one boto3 session made with ``--profile``/``--region``. Errors are ``CliError`` with a
readable line and the command line's exit codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventhub.cli import EXIT_AUTH, EXIT_BAD_INPUT, EXIT_FAILURE, CliError, outputs_of_stack

# Handler module paths (as the local runtime names them) -> the stack output naming the function.
FUNCTION_OUTPUTS = {
    "functions.handlers.poller.handler": "PollerFunctionName",
    "functions.handlers.copier.handler": "CopierFunctionName",
    "functions.handlers.aggregator.handler": "AggregatorFunctionName",
    "functions.handlers.publisher.handler": "PublisherFunctionName",
}
# Local stream consumers (eventhub.local.streams) -> the stack output naming their on-failure queue.
FAILURE_QUEUE_OUTPUTS = {
    "copier": "CopierDlqQueueUrl",
    "aggregator": "AggregatorDlqQueueUrl",
    "publisher": "PublisherDlqQueueUrl",
}


def flat_outputs(document: Any, source: str) -> dict[str, str]:
    """``{key: value}`` from a ``cdk deploy --outputs-file`` JSON (``{stack: {key: value}}``) or a
    flat ``{key: value}`` object."""
    if not isinstance(document, dict):
        raise CliError(f"{source}: expected a JSON object of stack outputs", EXIT_BAD_INPUT)
    flat: dict[str, str] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if isinstance(v, str)})
        elif isinstance(value, str):
            flat[key] = value
    return flat


def outputs_from_file(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CliError(f"{path}: cannot read stack outputs ({error})", EXIT_BAD_INPUT) from None
    return flat_outputs(document, str(path))


@dataclass
class DeployedStack:
    """The outputs of one deployed stack and a boto3 session to work on it."""

    outputs: dict[str, str]
    origin: str  # where the outputs came from, for messages
    session: Any
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls,
        *,
        stack_outputs: Path | None,
        stack_name: str | None,
        profile: str | None,
        region: str | None,
    ) -> DeployedStack:
        session = aws_session(profile, region)
        if stack_outputs is not None:
            return cls(outputs_from_file(stack_outputs), str(stack_outputs), session)
        assert stack_name is not None
        return cls(outputs_of_stack(stack_name, profile, region), f"stack {stack_name}", session)

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            known = ", ".join(sorted(self.outputs)) or "none"
            raise CliError(
                f"{self.origin}: the stack has no {key} output (outputs: {known}); "
                "deploy the current stack or pass the outputs of one",
                EXIT_BAD_INPUT,
            )
        return value

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    # -- the stack's functions -------------------------------------------------------------------

    def invoke(self, handler: str, payload: dict[str, Any]) -> Any:
        """Invoke the function of ``handler`` (RequestResponse) and return its answer; CliError
        when it cannot be invoked or it failed."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self.output(FUNCTION_OUTPUTS[handler])
        try:
            answer = self.client("lambda").invoke(
                FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            exit_code = EXIT_AUTH if "AccessDenied" in code else EXIT_FAILURE
            raise CliError(f"cannot invoke {name}: {error}", exit_code) from None
        except BotoCoreError as error:
            raise CliError(f"cannot invoke {name}: {error}", boto_exit(error)) from None
        body = answer["Payload"].read() if answer.get("Payload") is not None else b""
        try:
            result = json.loads(body or b"null")
        except ValueError:
            result = body.decode("utf-8", "replace")
        if answer.get("FunctionError"):
            message = result.get("errorMessage") if isinstance(result, dict) else None
            raise CliError(f"{name} failed: {message or answer['FunctionError']}")
        return result

    # -- the stack's data, through the functions' own adapters -------------------------------------

    def event_store(self) -> Any:
        from functions.adapters.blob_store import BlobStore
        from functions.adapters.event_store import EventStore

        blobs = BlobStore(self.output("BucketName"), self.client("s3"))
        return EventStore(self.output("TableName"), self.client("dynamodb"), blobs)

    def secret_resolver(self) -> Any:
        from functions.adapters.secrets import SecretResolver

        secrets = self.client("secretsmanager")

        def fetch(name: str) -> str:
            value = secrets.get_secret_value(SecretId=name)
            return str(value.get("SecretString") or value["SecretBinary"].decode())

        return SecretResolver(fetch)


def boto_exit(error: Exception) -> int:
    from botocore.exceptions import NoCredentialsError, NoRegionError, PartialCredentialsError

    if isinstance(error, NoCredentialsError | PartialCredentialsError | NoRegionError):
        return EXIT_AUTH
    return EXIT_FAILURE


def aws_session(profile: str | None, region: str | None) -> Any:
    """A boto3 session of ``profile``/``region``; CliError when it has no credentials or region."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        credentials = session.get_credentials()
    except BotoCoreError as error:  # an unknown profile, a broken config file
        raise CliError(f"missing credentials: {error}", EXIT_AUTH) from None
    which = f"profile {profile!r}" if profile else "the default AWS credential chain"
    if credentials is None:
        raise CliError(
            f"missing credentials: {which} has no AWS credentials; pass --profile or configure AWS",
            EXIT_AUTH,
        )
    if not session.region_name:
        raise CliError(f"missing region: {which} names no AWS region; pass --region", EXIT_AUTH)
    return session
