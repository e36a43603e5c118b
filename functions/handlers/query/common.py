"""What every query route shares: the caller's tenant, the adapters, the query parameters."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.adapters import factory
from functions.logic.auth import authenticate
from functions.logic.query.requests import MAX_LIMIT, EventPage
from functions.models.api import Event, EventList

if TYPE_CHECKING:
    from functions.adapters.counters import CounterStore
    from functions.adapters.event_index import EventIndex

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


# The index and the counters are imported by the routes that read them (lists and counts): a
# cold start that serves one event never loads them (docs/performance.md, "Cold start").
def event_index() -> "EventIndex":
    from functions.adapters.event_index import EventIndex

    return EventIndex(factory.event_store())


def counters() -> "CounterStore":
    return factory.counter_store()


def event_list(page: EventPage) -> EventList:
    return EventList(
        events=[Event.of(e) for e in page.events],
        has_next=page.has_next,
        limit=page.limit,
        offset=page.offset,
        total=page.total,
        next_cursor=page.next_cursor,
    )
