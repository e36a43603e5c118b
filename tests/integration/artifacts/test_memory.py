"""Memory stays flat whatever the size: a copy of many parts peaks at about the same as one of
three. The bucket is a moto server in another process, so only the copier's memory is measured."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from eventhub.local.resources import ResourceNames, create_all
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from functions.logic.copying.run import copy_pending_artifacts
from functions.models.event import ArtifactStatus
from tests.integration.artifacts.conftest import (
    Copying,
    MiB,
    SpySource,
    hub_config,
    pattern_bytes,
    pattern_digest,
    presigned,
)

PART = 5 * MiB  # the smallest part S3 accepts
IN_FLIGHT = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def remote(moto_server: str) -> Copying:
    clients: dict[str, Any] = {
        name: boto3.client(name, endpoint_url=moto_server, region_name="us-east-1")
        for name in ("dynamodb", "s3", "sqs")
    }
    names = ResourceNames(table=f"events-{time.monotonic_ns()}", bucket=f"data-{time.monotonic_ns()}")
    ids = create_all(clients, names)
    blobs = BlobStore(ids["bucket"], clients["s3"])
    return Copying(EventStore(ids["table"], clients["dynamodb"], blobs), blobs, SpySource(), hub_config())


def _peak_of_copy(copying: Copying, httpserver: HTTPServer, size: int) -> int:
    path = f"/file-{size}.bin"
    httpserver.expect_request(path).respond_with_handler(
        lambda request: Response(pattern_bytes(size), content_type="application/octet-stream")
    )
    event_id = copying.klavi_event(presigned(httpserver.url_for(path)), event_id=f"evt-{size}")
    tracemalloc.start()
    try:
        copy_pending_artifacts(event_id, copying.deps(part_size=PART, parts_in_flight=IN_FLIGHT))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.COPIED
    assert (artifact.size, artifact.sha256) == (size, pattern_digest(size))
    return peak


def test_copy_memory_does_not_grow_with_the_file_size(remote: Copying, httpserver: HTTPServer) -> None:
    # Given two files: a bit over 4 parts, and a bit over 12 parts
    small, large = 4 * PART + 1234, 12 * PART + 4321

    # When each is copied while Python's allocations are traced
    small_peak = _peak_of_copy(remote, httpserver, small)
    large_peak = _peak_of_copy(remote, httpserver, large)

    # Then the larger copy peaks within a part of the smaller one, and both stay within a few
    # parts (the part being read, the one being hashed, those in flight), far below the sizes
    assert large_peak - small_peak < PART, (small_peak, large_peak)
    assert large_peak < (IN_FLIGHT + 3) * PART, large_peak
    assert remote.incomplete_uploads() == []
