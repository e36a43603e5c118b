"""What the demo reports once the stack has had its webhooks and polls: what was stored by
source, the aggregates the query API answers per tenant, and the artifacts copied into the bucket.

The aggregates come from ``GET /api/v1/events/aggregate`` with each API key of the configuration
(the counters the aggregator keeps from the table's stream); the copies from the data bucket's
``artifacts/{tenant}/{source}/…`` keys.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from functions.models.blob_keys import ARTIFACT_PREFIX
from functions.models.config import HubConfig

AGGREGATE_PATH = "/api/v1/events/aggregate"


def wait_until(done: Callable[[], bool], *, timeout: float, interval: float = 0.25) -> bool:
    """Call ``done`` until it is true or ``timeout`` seconds have passed; its last answer."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def answers_health(stack_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{stack_url}/health", timeout=2) as answer:  # noqa: S310 - loopback
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def api_keys(config: HubConfig) -> dict[str, str]:
    """Tenant -> the first API key of the configuration given in clear (not as a hash)."""
    keys: dict[str, str] = {}
    for api_key in config.api_keys:
        if api_key.key is not None:
            keys.setdefault(api_key.tenant_id, api_key.key)
    return keys


def aggregate(stack_url: str, api_key: str) -> dict[str, Any]:
    """The tenant's aggregate over all time, as the query API answers it."""
    request = urllib.request.Request(f"{stack_url}{AGGREGATE_PATH}", headers={"X-API-Key": api_key})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        body = json.loads(answer.read())
    return body if isinstance(body, dict) else {}


def aggregates(stack_url: str, keys: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    return {tenant: aggregate(stack_url, key) for tenant, key in keys.items()}


def copied_artifacts(s3: Any, bucket: str) -> Counter[str]:
    """Source -> how many result files our bucket holds (``artifacts/{tenant}/{source}/…``)."""
    found: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ARTIFACT_PREFIX):
        for item in page.get("Contents", []):
            parts = item["Key"].removeprefix(ARTIFACT_PREFIX).split("/")
            found[parts[1] if len(parts) > 1 else "?"] += 1
    return found


def counts(counter: Mapping[str, int]) -> str:
    """``klavi 51, vai 50`` (largest first), or ``none``."""
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key} {count}" for key, count in ordered) or "none"


def aggregate_line(tenant: str, body: Mapping[str, Any], *, top: int = 6) -> str:
    """``acme: 153 events; by resource type: analysis 51, automation 13, …``."""
    total = int(body.get("total") or 0)
    by_type = {row["key"]: int(row["count"]) for row in body.get("byResourceType") or []}
    shown = dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))[:top])
    more = f", +{len(by_type) - len(shown)} more" if len(by_type) > len(shown) else ""
    noun = "event" if total == 1 else "events"
    return f"{tenant}: {total} {noun}; by resource type: {counts(shown)}{more}"


def artifacts_line(copied: Mapping[str, int], files: int, bucket: str) -> str:
    """``artifacts copied: 55 (klavi 55) into s3://…``, or ``40 of 55 so far`` while copying."""
    done = sum(copied.values())
    if done >= files:
        return f"artifacts copied: {done} ({counts(copied)}) into {bucket}"
    so_far = f"{done} of {files} so far ({counts(copied)})"
    return f"artifacts copied: {so_far} into {bucket}; the copier carries on"
