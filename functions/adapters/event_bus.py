"""The event bus: PutEvents calls, each entry's outcome, errors mapped to ``BusUnavailable``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.adapters.dynamodb import error_code
from functions.errors import BusUnavailable
from functions.models.publishing import BusEntry, PutFailure


class EventBridgeBus:
    def __init__(self, bus_name: str, events_client: Any) -> None:
        self.bus_name = bus_name
        self.events = events_client

    def put(self, entries: Sequence[BusEntry]) -> list[PutFailure]:
        request = [
            {
                "EventBusName": self.bus_name,
                "Source": entry.source,
                "DetailType": entry.detail_type,
                "Detail": entry.detail,
            }
            for entry in entries
        ]
        try:
            response = self.events.put_events(Entries=request)
        except (ClientError, BotoCoreError) as error:
            raise BusUnavailable(f"event bus unavailable ({error_code(error)})") from None
        if not response.get("FailedEntryCount"):
            return []
        return [
            PutFailure(index, str(result.get("ErrorCode") or "Unknown"))
            for index, result in enumerate(response.get("Entries", []))
            if result.get("ErrorCode")
        ]
