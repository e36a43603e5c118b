"""``make recopy EVENT=id``: copy an event's failed, expired or refused artifacts again.

Runs the copier's recopy logic (``functions.logic.copying.recopy_event``, the same logic the
copier Lambda runs for ``{"action": "recopy", "eventId": ...}`` in AWS) against the local
stack that ``make run`` started on ``PORT``. The stack leaves a note of its embedded AWS
endpoint in the temp directory (``StackAddress``, one of its services); the credentialed URL
is read from where intake kept it, so a copy can be retried as long as that is there.

    python -m eventhub.local.recopy --event 4e19ef24-... [--port 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventhub.local.stack import LocalStack


def address_file(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"eventhub-local-{port}.json"


class StackAddress:
    """A local-stack service: writes where this stack's AWS is, for local commands; removed on stop."""

    def __init__(self) -> None:
        self.path: Path | None = None

    def start(self, stack: LocalStack) -> None:
        self.path = address_file(stack.port)
        note = {
            "endpointUrl": stack.endpoint_url,
            "configPath": str(stack.config_path),
            "table": stack.resources["table"],
            "bucket": stack.resources["bucket"],
            "pid": os.getpid(),
        }
        self.path.write_text(json.dumps(note))

    def stop(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def read_address(port: int) -> dict[str, Any] | None:
    path = address_file(port)
    if not path.exists():
        return None
    note = json.loads(path.read_text())
    try:
        os.kill(int(note["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None  # left behind by a stack that is gone
    return note


def recopy(event_id: str, note: dict[str, Any]) -> int:
    import boto3

    from functions.adapters.artifact_source import HttpArtifactSource
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.dns import resolve_host
    from functions.adapters.event_store import EventStore
    from functions.logic.copying.deps import CopyDeps
    from functions.logic.copying.run import iter_outcomes, recopy_event
    from functions.models.config import load_config

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=note["endpointUrl"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
        )

    blobs = BlobStore(note["bucket"], client("s3"))
    deps = CopyDeps(
        store=EventStore(note["table"], client("dynamodb"), blobs),
        blobs=blobs,
        source=HttpArtifactSource(),
        config=load_config(note["configPath"]),
        resolve=resolve_host,
    )
    report = recopy_event(event_id, deps)
    if not report.found:
        print(f"no event {event_id}", file=sys.stderr)
        return 2
    lines = list(iter_outcomes(report))
    print("\n".join(lines) if lines else f"event {event_id}: every artifact is already copied")
    return 0 if all(o.status.value == "copied" for o in report.artifacts) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventhub.local.recopy", description=__doc__)
    parser.add_argument("--event", required=True, help="the event id")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    args = parser.parse_args(argv)
    if not args.event.strip():
        parser.error("--event is empty: make recopy EVENT=<event id>")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    note = read_address(args.port)
    if note is None:
        print(f"no local stack on port {args.port}: start it with `make run` first", file=sys.stderr)
        return 2
    return recopy(args.event.strip().lower(), note)


if __name__ == "__main__":
    sys.exit(main())
