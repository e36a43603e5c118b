"""Exact counts of a tenant's events, kept in counter items and combined over any time range.

- ``counting``: what a stream batch adds, exactly once (the aggregator).
- ``ranges``: a time range as the fewest aligned counter buckets plus raw sub-minute edges.
- ``combining``: counts over a range for ``/aggregate``, ``/stats/by-actor`` and list totals.
- ``rebuild``: every counter recomputed from the stored events.

Counter items as data (keys, deltas, attribute names) live in ``functions.models.counting``;
what the logic needs from the counter store is ``functions.ports.counters``.
"""
