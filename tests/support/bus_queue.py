"""A consumer of the local stack's event bus, as a user attaches one: a rule and an SQS queue."""

from __future__ import annotations

import json
import time
from typing import Any


def attach_queue(stack: Any, name: str) -> str:
    """A rule on the stack's bus for every hub entry, with an SQS queue as its target."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.resources["event_bus"]
    pattern = json.dumps({"source": [{"prefix": "eventhub."}]})
    events.put_rule(Name=f"{name}-rule", EventBusName=bus, EventPattern=pattern, State="ENABLED")
    events.put_targets(Rule=f"{name}-rule", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def drain(
    stack: Any,
    url: str,
    *,
    waiting_for: frozenset[str] | set[str] = frozenset(),
    quiet_seconds: float = 1.5,
    deadline_seconds: float = 30.0,
) -> list[dict]:
    """Every message of the queue (EventBridge envelopes): until the detail ids of
    ``waiting_for`` have all arrived, then until the queue stays empty a moment (bounded)."""
    sqs, received, seen = stack.client("sqs"), [], set()
    deadline, last = time.monotonic() + deadline_seconds, time.monotonic()
    while time.monotonic() < deadline and (waiting_for - seen or time.monotonic() - last < quiet_seconds):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in messages.get("Messages", []):
            body = json.loads(message["Body"])
            received.append(body)
            seen.add(body.get("detail", {}).get("id"))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            last = time.monotonic()
        if not messages.get("Messages"):
            time.sleep(0.1)
    return received
