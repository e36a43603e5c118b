"""HTTP for the provider APIs the pollers read: timeouts, retries, and clear failures.

- connect and read timeouts on every request;
- 5xx answers and connection errors (refused, reset, timed out) are retried with jittered
  exponential backoff ("full jitter": a random wait between 0 and base * 2**attempt, capped);
- 429 waits for ``Retry-After`` (seconds or an HTTP date) when it is within a bound, and gives
  up at once when the provider asks for longer: the next scheduled run picks up from there;
- 401 and 403 raise ``ProviderAuthFailed`` at once (a wrong credential does not get better);
- other answers are returned as they are, for the caller to judge.

Built on urllib3 (it ships with boto3, so the Lambda bundle gains nothing). URLs are logged
without their query strings; header values (the credentials) are never logged.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache

import urllib3
from urllib3.exceptions import HTTPError as TransportError

from functions.errors import ProviderAuthFailed, ProviderError, ProviderUnavailable
from functions.models.http import HttpResponse
from functions.observability import logger
from functions.redaction import redact_url

USER_AGENT = "eventhub-poller/1"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try included
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1)
    backoff_cap: float = 8.0
    retry_after_cap: float = 30.0  # a longer Retry-After ends the run instead of blocking it


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class HttpClient:
    """GET with timeouts and retries. Thread-safe; one instance per container is enough."""

    def __init__(
        self,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        max_body_bytes: int = 16 * 1024 * 1024,
        pool_size: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self._pool = urllib3.PoolManager(maxsize=pool_size, retries=False, timeout=self.timeout)
        self._sleep = sleep
        self._jitter = jitter

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        budget_seconds: float | None = None,
    ) -> HttpResponse:
        """GET ``url``; retries as the module says. ``budget_seconds`` bounds the whole call,
        waits included: a retry that would wait past it is not made."""
        started = time.monotonic()
        where = redact_url(url)
        request_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        fields = {k: str(v) for k, v in (params or {}).items()}
        reason = ""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._request(url, fields, request_headers)
            except TransportError as error:
                reason = f"{type(error).__name__}"
                wait = self._backoff(attempt)
            else:
                if response.status in (401, 403):
                    raise ProviderAuthFailed(
                        f"{where} answered {response.status}: the provider refused our credential",
                        response.status,
                    )
                if response.status == 429:
                    reason = "429 Too Many Requests"
                    asked = retry_after_seconds(response.headers.get("Retry-After"))
                    if asked is not None and asked > self.retry.retry_after_cap:
                        raise ProviderUnavailable(
                            f"{where} is rate limiting us for {asked:.0f} s "
                            f"(over the {self.retry.retry_after_cap:.0f} s we wait within a run)"
                        )
                    wait = asked if asked is not None else self._backoff(attempt)
                elif response.status >= 500:
                    reason = f"{response.status}"
                    wait = self._backoff(attempt)
                else:
                    return response
            if attempt == self.retry.attempts:
                break
            if budget_seconds is not None and time.monotonic() - started + wait > budget_seconds:
                raise ProviderUnavailable(f"{where}: {reason}; no time left in this run to retry")
            logger.warning(
                "provider call retried",
                extra={"url": where, "reason": reason, "attempt": attempt, "wait_seconds": round(wait, 3)},
            )
            self._sleep(wait)
        raise ProviderUnavailable(f"{where}: {reason} after {self.retry.attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.retry.backoff_cap, self.retry.backoff_base * 2 ** (attempt - 1))
        return ceiling * self._jitter()

    def _request(self, url: str, fields: dict[str, str], headers: dict[str, str]) -> HttpResponse:
        response = self._pool.request(
            "GET", url, fields=fields or None, headers=headers, preload_content=False, redirect=False
        )
        try:
            body = response.read(self.max_body_bytes + 1)
        except BaseException:
            response.close()
            raise
        if len(body) > self.max_body_bytes:
            response.close()
            raise ProviderError(f"{redact_url(url)} answered more than {self.max_body_bytes} bytes")
        response.release_conn()
        return HttpResponse(response.status, body, response.headers)


@lru_cache(maxsize=1)
def shared_client() -> HttpClient:
    """The container's client: its connection pools outlive a single invocation."""
    return HttpClient()
