"""Backfill: a chosen window read again, resumable, without touching the scheduled checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventhub.demo import VaiFake
from functions.logic.polling import PollServices, RunBudget, RunOutcome, backfill
from functions.models.event import format_timestamp
from tests.integration.polling.conftest import poll_config, stored_source_ids

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_an_interrupted_backfill_resumes_after_its_last_whole_chunk(
    vai: VaiFake, services: PollServices, aws
):
    # Given 4 hours of events and a backfill that runs out of time after its first hour
    vai.add_events(40, start=T0 - timedelta(hours=4), end=T0 - timedelta(minutes=1))
    config = poll_config(vai=vai)
    window = {"start": T0 - timedelta(hours=4), "end": T0}
    chunks: list[datetime] = []
    out_of_time = {"now": False}
    budget = RunBudget(lambda: 0 if out_of_time["now"] else 600_000)

    def stop_after_first_chunk(summary, position) -> None:
        if position is not None:
            chunks.append(position)
            out_of_time["now"] = True

    first = backfill("vai-pull", config=config, services=services, budget=budget,
                     progress=stop_after_first_chunk, **window)  # fmt: skip
    # When the same backfill is run again with time enough
    second = backfill(
        "vai-pull", config=config, services=services, budget=RunBudget.for_seconds(300), **window
    )
    # Then the first stopped after one hour, the second read the other three, and the stored set
    # is the provider's, while the scheduled sync still has no checkpoint
    assert first.outcome is RunOutcome.PARTIAL and chunks == [T0 - timedelta(hours=3)]
    assert second.outcome is RunOutcome.COMPLETED
    assert second.window_from == format_timestamp(T0 - timedelta(hours=3))
    assert first.new + second.new == 40
    assert set(stored_source_ids(aws, "vai")) == vai.ids
    assert services.store.get_checkpoint("vai-pull") is None
