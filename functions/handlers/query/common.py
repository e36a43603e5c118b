"""What every query route shares: the caller's tenant, the adapters, the query parameters."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.adapters import factory
from functions.adapters.counters import CounterStore
from functions.adapters.event_index import EventIndex
from functions.logic.auth import authenticate
from functions.logic.query.requests import MAX_LIMIT, EventPage
from functions.models.api import Event, EventList

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
UNROUTABLE = "a path parameter with characters no route accepts (control characters, '/')"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, description="events to skip")]
Cursor = Annotated[str | None, Query(description="`nextCursor` of the previous page")]
From = Annotated[datetime | None, Query(alias="from", description="inclusive lower bound of occurredAt")]
To = Annotated[datetime | None, Query(description="inclusive upper bound of occurredAt")]


def tenant_of(request: Any) -> str:
    """The tenant of the request's API key (401 without a valid one)."""
    return authenticate(request.headers or {}, factory.registry())


def event_index() -> EventIndex:
    return EventIndex(factory.event_store())


def counters() -> CounterStore:
    return CounterStore(factory.event_store())


def event_list(page: EventPage) -> EventList:
    return EventList(
        events=[Event.of(e) for e in page.events],
        has_next=page.has_next,
        limit=page.limit,
        offset=page.offset,
        total=page.total,
        next_cursor=page.next_cursor,
    )
