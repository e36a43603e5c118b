"""The suite-wide log guard must catch what it is there to catch."""

from __future__ import annotations

import logging

from tests.support.log_guard import LogGuard


def _guarded(*sensitive: str) -> tuple[LogGuard, logging.Logger]:
    guard = LogGuard(sensitive)
    log = logging.getLogger("log-guard-test")
    log.addHandler(guard)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return guard, log


def test_a_secret_in_structured_extras_is_reported() -> None:
    guard, log = _guarded("wss_super_secret_value")
    log.warning("rejected", extra={"detail": "key=wss_super_secret_value"})
    assert guard.violations()


def test_a_presigned_query_string_is_reported() -> None:
    guard, log = _guarded()
    log.info("fetching https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc")
    assert guard.violations()


def test_a_redacted_url_passes() -> None:
    guard, log = _guarded("wss_super_secret_value")
    log.info("fetching https://b.s3.amazonaws.com/k", extra={"connection": "extend-dev"})
    assert guard.violations() == []
