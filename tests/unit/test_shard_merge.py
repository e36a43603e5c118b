"""The newest-first merge over an index's partitions, against a fake Query of in-memory partitions."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from functions.adapters.shard_merge import newest_first
from functions.models.listing import Entry

SHARDS = 8


class FakeQuery:
    """Partitions of sort values, queried newest first like DynamoDB: ``Limit`` entries evaluated,
    a filter applied after, ``LastEvaluatedKey`` while entries are left."""

    def __init__(self, partitions: list[list[str]], keep: Callable[[str], bool] = lambda _p: True) -> None:
        self.partitions = [sorted(p, reverse=True) for p in partitions]
        self.keep = keep
        self.requests: list[tuple[int, int | None]] = []  # (partition, Limit)
        self.evaluated = 0

    def params(self) -> list[dict[str, Any]]:
        return [{"partition": n} for n in range(len(self.partitions))]

    def __call__(self, params: dict[str, Any]) -> Mapping[str, Any]:
        number, limit = params["partition"], params.get("Limit")
        self.requests.append((number, limit))
        values = self.partitions[number]
        first = params.get("ExclusiveStartKey", {}).get("at", 0)
        last = len(values) if limit is None else min(len(values), first + limit)
        self.evaluated += last - first
        response: dict[str, Any] = {"Items": [{"ts": v} for v in values[first:last] if self.keep(v)]}
        if last < len(values):
            response["LastEvaluatedKey"] = {"at": last}
        return response


def entry(item: Mapping[str, Any]) -> Entry:
    return Entry(id=item["ts"].rpartition("#")[2], position=item["ts"])


def positions(count: int, rng: random.Random) -> list[str]:
    """Distinct sort values, some sharing a moment (ties broken by the id)."""
    return [f"2025-02-26T20:{rng.randrange(60):02d}:00.000000Z#{n:08x}" for n in range(count)]


def spread(values: list[str], rng: random.Random, shards: int = SHARDS) -> list[list[str]]:
    found: list[list[str]] = [[] for _ in range(shards)]
    for value in values:
        found[rng.randrange(shards)].append(value)
    return found


def bound(want: int, shards: int = SHARDS) -> int:
    """What shard_merge documents: fewer than want + shards * ceil(want / shards) entries."""
    return want + shards * math.ceil(want / shards)


@pytest.mark.parametrize("want", [1, 3, 11, 26, 101, 500, None])
def test_the_merge_is_the_newest_first_order_of_every_partition_together(want: int | None) -> None:
    # Given 400 sort values spread at random over eight partitions
    rng = random.Random(want or 0)
    values = positions(400, rng)
    query = FakeQuery(spread(values, rng))
    # When the merge is read for `want` entries
    got = [e.position for e in newest_first(query, query.params(), entry, want)]
    # Then they are the newest `want` of all, newest first, none repeated or skipped
    assert got == sorted(values, reverse=True)[:want]


@pytest.mark.parametrize("want", [1, 3, 11, 26, 101])
def test_without_a_filter_a_merge_reads_less_than_its_documented_bound(want: int) -> None:
    for seed in range(30):
        # Given 1,000 entries over eight partitions: at random, and all the newest in one partition
        rng = random.Random(seed)
        values = sorted(positions(1_000, rng), reverse=True)
        layouts = [spread(values, rng), [values[:want], *spread(values[want:], rng, SHARDS - 1)]]
        for layout in layouts:
            query = FakeQuery(layout)
            # When `want` entries are read
            got = list(newest_first(query, query.params(), entry, want))
            # Then fewer entries were read than want + 8 x ceil(want / 8), and no request asked for more
            assert len(got) == want
            assert query.evaluated < bound(want)
            assert all(limit is not None and limit <= math.ceil(want / SHARDS) for _, limit in query.requests)


def test_with_hashed_ids_a_page_of_101_reads_about_17_entries_more() -> None:
    # Given entries spread over eight partitions as hashed ids spread them (uniformly at random)
    extra, requests = [], []
    for seed in range(200):
        rng = random.Random(seed)
        query = FakeQuery(spread(positions(2_000, rng), rng))
        # When a page of 100 and its hasNext probe are read
        assert len(list(newest_first(query, query.params(), entry, 101))) == 101
        extra.append(query.evaluated - 101)
        requests.append(len(query.requests))
    # Then on average it read 17 entries more than it gave (at least 7: every other partition's
    # next entry), in 14 requests, as docs/performance.md says
    assert min(extra) >= SHARDS - 1
    assert 12 <= sum(extra) / len(extra) <= 22
    assert 12 <= sum(requests) / len(requests) <= 16


def test_a_merge_reads_a_partition_only_when_it_needs_its_next_entry() -> None:
    # Given eight partitions whose newest 40 entries are all in the first
    values = sorted(positions(400, random.Random(3)), reverse=True)
    layout = [values[:40] + values[200:210], *(values[40 + 20 * n : 60 + 20 * n] for n in range(7))]
    query = FakeQuery(layout)
    # When 24 entries are read
    got = list(newest_first(query, query.params(), entry, 24))
    # Then each other partition was asked once, for its share (3); the first was asked again each
    # time its entries ran out, for its share of what was still wanted, and read only those 24
    assert [e.position for e in got] == values[:24]
    assert [limit for n, limit in query.requests if n] == [3] * 7
    assert [limit for n, limit in query.requests if not n] == [3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    assert query.evaluated == 24 + 7 * 3


def test_a_filter_that_leaves_responses_short_doubles_what_a_partition_asks_for() -> None:
    # Given 800 entries over eight partitions of which one in fifty matches the filter
    rng = random.Random(9)
    values = positions(800, rng)
    matching = set(values[::50])
    query = FakeQuery(spread(values, rng), keep=lambda v: v in matching)
    # When 11 matches are read
    got = [e.position for e in newest_first(query, query.params(), entry, 11)]
    # Then they are the newest 11 matches, and partitions asked for more than their share (2) after
    # short responses, never more than was still wanted
    assert got == sorted(matching, reverse=True)[:11]
    assert 2 < max(limit or 0 for _, limit in query.requests) <= 11


def test_one_partition_asks_for_what_is_still_wanted_as_a_single_query_always_did() -> None:
    # Given one partition where a filter drops every other entry
    values = sorted(positions(50, random.Random(1)), reverse=True)
    query = FakeQuery([values], keep=lambda v: values.index(v) % 2 == 0)
    # When 5 entries are read
    got = list(newest_first(query, query.params(), entry, 5))
    # Then each request asked for the matches still wanted: 5, then 2 (3 matched), 1 (1 matched),
    # 1 (none matched)
    assert len(got) == 5
    assert [limit for _, limit in query.requests] == [5, 2, 1, 1]


def test_equal_sort_values_in_two_partitions_go_to_the_lower_partition_first() -> None:
    # Given the same sort value in partitions 5 and 2 (which stored events never make)
    partitions: list[list[str]] = [[] for _ in range(SHARDS)]
    partitions[5] = ["2025-02-26T20:00:00.000000Z#same", "2025-02-26T19:00:00.000000Z#e5"]
    partitions[2] = ["2025-02-26T20:00:00.000000Z#same", "2025-02-26T18:00:00.000000Z#e2"]
    seen = []
    for _ in range(3):
        query = FakeQuery(partitions)

        def tagged(item: Mapping[str, Any], query: FakeQuery = query) -> Entry:
            return Entry(id=str(query.requests[-1][0]), position=item["ts"])

        # When the merge is read, three times over
        seen.append([(e.position[-4:], e.id) for e in newest_first(query, query.params(), tagged, None)])
    # Then partition 2's copy comes first, every time
    assert seen[0][:2] == [("same", "2"), ("same", "5")]
    assert seen[0] == seen[1] == seen[2]
