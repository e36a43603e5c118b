"""The poll connections' schedules: one EventBridge Scheduler schedule per connection, in the
schedule group the stack owns, invoking the poller with ``{"connectionId": id}``.

The stack creates the group, the role Scheduler assumes and the dead-letter queue; ``apply``
creates, updates and deletes the schedules in it. moto serves the same API locally.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from functions.models.config import Connection

# As the stack's schedules did: two retries within ten minutes, then the pollers' DLQ.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_SECONDS = 600


def schedule_minutes(every_seconds: int) -> int:
    """EventBridge Scheduler rates are whole minutes: round up, never below one."""
    return max(1, math.ceil(every_seconds / 60))


def rate_of(connection: Connection) -> str:
    assert connection.poll is not None
    minutes = schedule_minutes(connection.poll.every_seconds)
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


@dataclass(frozen=True)
class ScheduleTarget:
    """Where a schedule points: the stack's outputs (or the local stack's stand-ins)."""

    group: str
    poller_arn: str
    role_arn: str
    dead_letter_arn: str


class Schedules:
    def __init__(self, client: Any, target: ScheduleTarget) -> None:
        self.client = client
        self.target = target

    def current(self) -> dict[str, str]:
        """Schedule name (the connection id) -> its rate expression."""
        found: dict[str, str] = {}
        paginator = self.client.get_paginator("list_schedules")
        for page in paginator.paginate(GroupName=self.target.group):
            for summary in page.get("Schedules", []):
                detail = self.client.get_schedule(GroupName=self.target.group, Name=summary["Name"])
                found[summary["Name"]] = detail.get("ScheduleExpression", "")
        return found

    def put(self, connection: Connection, *, exists: bool) -> None:
        params = {
            "GroupName": self.target.group,
            "Name": connection.id,
            "ScheduleExpression": rate_of(connection),
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Description": f"poll {connection.id} ({connection.provider.value}, {connection.tenant_id})",
            "Target": {
                "Arn": self.target.poller_arn,
                "RoleArn": self.target.role_arn,
                "Input": json.dumps({"connectionId": connection.id}),
                "RetryPolicy": {
                    "MaximumRetryAttempts": RETRY_ATTEMPTS,
                    "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
                },
                "DeadLetterConfig": {"Arn": self.target.dead_letter_arn},
            },
        }
        (self.client.update_schedule if exists else self.client.create_schedule)(**params)

    def exists(self, name: str) -> bool:
        try:
            self.client.get_schedule(GroupName=self.target.group, Name=name)
        except self.client.exceptions.ResourceNotFoundException:
            return False
        return True

    def ensure(self, connection: Connection) -> None:
        """Create or update the schedule of a poll connection, whichever it needs."""
        self.put(connection, exists=self.exists(connection.id))

    def delete(self, name: str) -> None:
        self.client.delete_schedule(GroupName=self.target.group, Name=name)

    def remove(self, name: str) -> bool:
        """Delete the schedule if there is one; False when there was none."""
        try:
            self.delete(name)
        except self.client.exceptions.ResourceNotFoundException:
            return False
        return True
