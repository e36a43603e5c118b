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
    # Given a log guarded against a secret
    guard, log = _guarded("wss_super_secret_value")
    # When the secret is logged inside a record's structured extras
    log.warning("rejected", extra={"detail": "key=wss_super_secret_value"})
    # Then the guard reports it
    assert guard.violations()


def test_a_presigned_query_string_is_reported() -> None:
    # Given a guarded log
    guard, log = _guarded()
    # When a URL with a presigned query string is logged
    log.info("fetching https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc")
    # Then the guard reports it
    assert guard.violations()


def test_a_redacted_url_passes() -> None:
    # Given a log guarded against a secret
    guard, log = _guarded("wss_super_secret_value")
    # When a URL without its query string is logged, with harmless extras
    log.info("fetching https://b.s3.amazonaws.com/k", extra={"connection": "extend-dev"})
    # Then the guard reports nothing
    assert guard.violations() == []
