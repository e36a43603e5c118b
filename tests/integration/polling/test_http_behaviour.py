"""The poller's HTTP against a real server: 429 with Retry-After, 503 bursts, slow answers, 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventhub.demo import VaiFake
from functions.adapters.http_client import HttpClient
from functions.errors import ProviderAuthFailed, ProviderError, ProviderUnavailable
from functions.logic.polling import PollServices, RunOutcome
from functions.models.event import format_timestamp
from tests.integration.polling.conftest import Sleeps, make_http, poll_config, run, stored_source_ids

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SINCE = {"since": format_timestamp(T0 - timedelta(hours=1))}


def _list(vai: VaiFake) -> str:
    return f"{vai.url}/api/v1/events"


def test_429_with_retry_after_is_honoured_then_the_sync_succeeds(
    vai: VaiFake, services: PollServices, sleeps: Sleeps, aws
):
    # Given a provider that throttles twice, asking for 2 s and then 1 s
    vai.add_events(150, start=T0 - timedelta(minutes=20), end=T0 - timedelta(minutes=1))
    vai.throttle(retry_after=2)
    vai.throttle(retry_after=1)
    # When a sync runs
    summary = run("vai-pull", poll_config(vai=vai, **SINCE), services, now=T0)
    # Then it waited exactly what it was asked, and stored everything
    assert sleeps.waits == [2.0, 1.0]
    assert summary.outcome is RunOutcome.COMPLETED
    assert set(stored_source_ids(aws, "vai")) == vai.ids


def test_a_503_burst_is_retried_with_growing_jittered_backoff_then_succeeds(vai: VaiFake, sleeps: Sleeps):
    # Given three 503s in a row, and a jitter that always picks the top of the range
    vai.outage(times=3)
    client = HttpClient(sleep=sleeps, jitter=lambda: 1.0)
    # When one page is fetched
    response = client.get(_list(vai), headers={"X-API-Key": vai.api_key})
    # Then it was retried after 0.5, 1 and 2 s and the fourth attempt answered
    assert response.status == 200
    assert sleeps.waits == [0.5, 1.0, 2.0]
    assert len(vai.requests) == 4


def test_a_503_burst_longer_than_the_retries_fails_the_call(vai: VaiFake, sleeps: Sleeps):
    # Given more 503s than attempts
    vai.outage(times=10)
    # When a page is fetched
    with pytest.raises(ProviderUnavailable, match="503 after 4 attempts"):
        make_http(sleeps).get(_list(vai), headers={"X-API-Key": vai.api_key})
    # Then exactly four requests were made
    assert len(vai.requests) == 4


def test_a_retry_after_beyond_the_bound_ends_the_call_without_waiting(vai: VaiFake, sleeps: Sleeps):
    # Given a provider asking us to come back in an hour
    vai.throttle(retry_after=3600)
    # When a page is fetched
    with pytest.raises(ProviderUnavailable, match="rate limiting us for 3600 s"):
        make_http(sleeps).get(_list(vai), headers={"X-API-Key": vai.api_key})
    # Then nothing was waited for
    assert sleeps.waits == []


def test_a_retry_after_given_as_an_http_date_is_understood(vai: VaiFake, sleeps: Sleeps):
    # Given a Retry-After as an HTTP date about 5 s ahead
    from email.utils import format_datetime

    when = datetime.now(UTC) + timedelta(seconds=5)
    vai.fail_next(429, retry_after=format_datetime(when, usegmt=True))
    # When a page is fetched
    make_http(sleeps).get(_list(vai), headers={"X-API-Key": vai.api_key})
    # Then the wait was that date, give or take the clock
    assert len(sleeps.waits) == 1 and 2.0 < sleeps.waits[0] <= 5.0


def test_a_provider_slower_than_the_read_timeout_is_retried_then_answers(vai: VaiFake, sleeps: Sleeps):
    # Given a provider whose first two answers take longer than our read timeout
    vai.slow(0.6, times=2)
    # When a page is fetched with a 0.2 s read timeout
    response = make_http(sleeps, read_timeout=0.2).get(_list(vai), headers={"X-API-Key": vai.api_key})
    # Then the third attempt answered
    assert response.status == 200 and len(vai.requests) == 3 and len(sleeps.waits) == 2


def test_a_provider_always_slower_than_the_read_timeout_fails_the_run_cleanly(
    vai: VaiFake, services: PollServices, sleeps: Sleeps, aws
):
    # Given events and a provider that never answers within the read timeout
    vai.add_events(5, start=T0 - timedelta(minutes=5), end=T0 - timedelta(minutes=1))
    vai.slow(0.5)
    from dataclasses import replace

    slow_services = replace(services, http=make_http(sleeps, read_timeout=0.1, attempts=3))
    # When a sync runs
    with pytest.raises(ProviderUnavailable, match="ReadTimeoutError after 3 attempts"):
        run("vai-pull", poll_config(vai=vai, **SINCE), slow_services, now=T0)
    # Then nothing is stored, no checkpoint exists, and the lease was given back
    assert stored_source_ids(aws, "vai") == []
    assert services.store.get_checkpoint("vai-pull") is None
    vai.slow(0)
    assert run("vai-pull", poll_config(vai=vai, **SINCE), services, now=T0).outcome is RunOutcome.COMPLETED


def test_a_refused_connection_is_retried_then_reported(sleeps: Sleeps):
    # Given nothing listening on a port
    from bench.common import free_port

    url = f"http://127.0.0.1:{free_port()}/api/v1/events"
    # When a page is fetched
    with pytest.raises(ProviderUnavailable, match="NewConnectionError after 4 attempts"):
        make_http(sleeps).get(url)
    # Then it backed off between the attempts
    assert len(sleeps.waits) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_stop_at_once(vai: VaiFake, sleeps: Sleeps, status: int):
    # Given a provider refusing us
    vai.fail_next(status)
    # When a page is fetched
    with pytest.raises(ProviderAuthFailed) as failure:
        make_http(sleeps).get(_list(vai), headers={"X-API-Key": vai.api_key})
    # Then there was no retry
    assert failure.value.status == status and len(vai.requests) == 1 and sleeps.waits == []


def test_an_unexpected_status_fails_the_sync_without_retrying(vai: VaiFake, services: PollServices, aws):
    # Given a provider answering 422 (a query it does not accept)
    vai.fail_next(422, body={"detail": [{"loc": ["query", "limit"], "msg": "bad", "type": "x"}]})
    # When a sync runs
    with pytest.raises(ProviderError, match="answered 422"):
        run("vai-pull", poll_config(vai=vai, **SINCE), services, now=T0)
    # Then it asked once
    assert len(vai.requests) == 1


def test_an_answer_larger_than_the_limit_is_refused(vai: VaiFake, sleeps: Sleeps):
    # Given a page bigger than the client accepts
    vai.add_events(50)
    client = HttpClient(max_body_bytes=1_000, sleep=sleeps)
    # When it is fetched
    # Then it is refused for its size
    with pytest.raises(ProviderError, match="more than 1000 bytes"):
        client.get(_list(vai), headers={"X-API-Key": vai.api_key})
