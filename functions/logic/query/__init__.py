"""Listing a tenant's events: pick the index partitions, walk them newest first, page, and count
exactly.

- ``requests``: the filters, the page asked for, the page answered, and the 422 for a refused request.
- ``times``: request times in UTC, clamped at the ends of time, as half-open ranges.
- ``plan``: which index partitions serve a list.
- ``pages``: the walk over those partitions and the page cut from it.
- ``cursor``: opaque cursors bound to the query that issued them.
- ``totals``: the exact ``total`` of a list.
- ``lists``: the three lists of the query API.
- ``lookup``: one event by its provider's id (``source`` + ``source_event_id``), read by key.
"""
