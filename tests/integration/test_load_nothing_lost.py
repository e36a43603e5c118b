"""A smaller run of the load benchmark as a test: faults injected, nothing lost, nothing twice.

Same three processes as `make bench` (moto server, `python -m eventhub.local` with 5% of store
writes failing as throttled, retrying senders), 400 webhooks instead of 10,000.
"""

from __future__ import annotations

import pytest

from bench.bench_load import run_load


@pytest.mark.slow
def test_under_store_faults_every_acknowledged_webhook_is_stored_exactly_once_and_counted() -> None:
    # Given 400 signed webhooks (10% re-sends) from 16 retrying senders, 5% of writes failing
    result = run_load(400)
    # Then every distinct event was acknowledged and is stored exactly once
    assert result["unacked"] == 0
    assert result["acked"] == result["distinct"] == 360
    assert result["acked_not_stored"] == 0
    assert result["stored_twice"] == 0
    assert result["stored"] == result["distinct"]
    # And the served aggregates equal a brute-force count of what was sent
    assert result["aggregates_match"]
    # And the only 5xx answers were the injected store faults (and some were injected)
    assert result["injected_put_faults"] > 0
    assert result["non_injected_5xx"] == 0
    assert result["five_xx"] <= result["injected_put_faults"]
