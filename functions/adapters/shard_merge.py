"""Newest first over several partitions of one index at once: a lazy k-way merge.

The time index holds a tenant's day in ``TIME_SHARDS`` partitions (``models/items.py``). Read
newest first, the day is the merge of its partitions' Queries on the sort value
``{occurredAt}#{id}``. Sort values end in the event id, which is unique and fixes the event's
partition, so no two entries of a day are equal: the merge is the order one partition would
have held, and "strictly below a position" resumes every partition exactly where the merge left
it (a cursor needs only the position of the last entry it showed).

Each partition is its own Query, continued with its own ``ExclusiveStartKey``, and read only
when the merge needs its next entry:

- Every partition is asked first for its share of what is wanted, ``ceil(wanted / partitions)``
  entries, since the merge cannot give its first entry before it knows every partition's newest.
- A partition whose entries are used up, while more are still wanted, is asked for its share of
  what is still wanted, ``ceil(remaining / partitions)``.
- A response that a filter left short (fewer matches than entries asked, and more to read)
  doubles what that partition asks for from then on, up to what is still wanted, so a rare
  filter does not cost a round trip per few entries.

So without a filter a request of ``want`` entries reads fewer than ``want + partitions × ceil(want
/ partitions)`` entries (the last request of each partition may be left unused), below ``2 × want
+ partitions``; with hashed ids the overrun is far smaller (docs/performance.md). ``want=None``
reads every partition to its end, in DynamoDB's 1 MB pages. With one partition (the other
indexes) this is a plain newest-first Query, each request asking for what is still wanted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from functions.models.listing import Entry

Query = Callable[[dict[str, Any]], Mapping[str, Any]]
"""One DynamoDB Query request (its parameters) -> its response."""


def _share(remaining: int, partitions: int) -> int:
    return -(-remaining // partitions)


class _Partition:
    """One partition's Query: what it has read and not yet given, and where it continues."""

    def __init__(self, params: Mapping[str, Any], to_entry: Callable[[Mapping[str, Any]], Entry]) -> None:
        self.params = dict(params)
        self.to_entry = to_entry
        self.buffer: deque[Entry] = deque()
        self.done = False
        self.scale = 1  # doubled each time a filter leaves a response short

    def read(self, query: Query, share: int | None, remaining: int | None) -> None:
        """Read until there is an entry to give or the partition ends."""
        while not self.buffer and not self.done:
            if share is None or remaining is None:
                self.params.pop("Limit", None)
                ask = None
            else:
                ask = min(share * self.scale, remaining)
                self.params["Limit"] = ask
            response = query(self.params)
            items = response.get("Items", [])
            self.buffer.extend(self.to_entry(item) for item in items)
            last = response.get("LastEvaluatedKey")
            if last:
                self.params["ExclusiveStartKey"] = last
                if ask is not None and len(items) < ask:
                    self.scale *= 2
            else:
                self.done = True


def newest_first(
    query: Query,
    partitions: Sequence[Mapping[str, Any]],
    to_entry: Callable[[Mapping[str, Any]], Entry],
    want: int | None,
) -> Iterator[Entry]:
    """Up to ``want`` entries (None: all) of these partitions' Queries (each newest first), merged
    newest first. ``partitions`` are the Query parameters of each, without Limit or start key."""
    if want is not None and want <= 0:
        return
    parts = [_Partition(params, to_entry) for params in partitions]
    count = len(parts)
    for part in parts:
        part.read(query, _share(want, count) if want is not None else None, want)
    given = 0
    while want is None or given < want:
        live = [part for part in parts if part.buffer]
        if not live:
            return
        # The newest head; max() keeps the first of equals, so a tie (two entries with one sort
        # value, which stored events never make) goes to the lower partition, every time.
        best = max(live, key=lambda part: part.buffer[0].position)
        yield best.buffer.popleft()
        given += 1
        if not best.buffer and (want is None or given < want):
            remaining = want - given if want is not None else None
            best.read(query, _share(remaining, count) if remaining is not None else None, remaining)
