"""`make demo`: the local stack and the simulated providers in one process, stopped by Ctrl-C."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import requests

from tests.conftest import LOCAL_CONFIG

POLLED = {"klavi-pull": "klavi", "vai-pull": "vai", "exa-dev": "exa"}
DEV_KEY = "dev-key-acme-000000"  # config/local.json's key of tenant acme


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _config_polling(tmp_path: Path, ports: dict[str, int]) -> Path:
    """config/local.json with its poll connections aimed at ``ports`` (connection id -> port)."""
    config = json.loads(LOCAL_CONFIG.read_text())
    for connection in config["connections"]:
        if connection["id"] in ports:
            connection["poll"]["baseUrl"] = f"http://127.0.0.1:{ports[connection['id']]}"
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(config))
    return path


def _lines_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """The process's output lines up to and including the first that contains ``marker``."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or marker not in seen[-1]:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, f"the demo exited early: {seen}"
        seen.append(line)
    return seen


def _drain(process: subprocess.Popen[str]) -> Callable[[], str]:
    """Read the process's stderr in the background; the returned callable gives what it wrote."""
    chunks: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            chunks.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def written() -> str:
        if process.poll() is not None:
            reader.join(timeout=5)
        return "".join(chunks)

    return written


def test_make_demo_shows_webhooks_polls_copies_and_aggregates_then_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    # Given a configuration whose poll connections point at free ports, and a free gateway port
    gateway, *provider_ports = _free_ports(4)
    ports = dict(zip(POLLED, provider_ports, strict=True))
    config = _config_polling(tmp_path, ports)

    # When the demo runs as `make demo` runs it, until it says it is running
    # (5 events each, and no new ones while it runs, so that the counts are known)
    process = subprocess.Popen(
        [sys.executable, "-m", "eventhub.demo.run", "--config", str(config), "--port", str(gateway),
         "--events", "5", "--every", "3600", "--settle", "20"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    errors = _drain(process)  # read as it comes: a full stderr pipe would block the demo
    try:
        output = _lines_until(process, "[demo] running", timeout=45)
        children = psutil.Process(process.pid).children(recursive=True)
        url = f"http://127.0.0.1:{gateway}"
        aggregate = requests.get(f"{url}/api/v1/events/aggregate", headers={"X-API-Key": DEV_KEY}, timeout=10)

        # Then it reported each webhook stored, each poll completed, the copies and the aggregates
        text = "\n".join(output)
        for connection in ("extend-dev", "exa-dev", "klavi-push", "svix-dev"):
            assert re.search(rf"webhook {connection} .*: 200, stored as event ", text), text
        for connection, provider in POLLED.items():
            polled = rf"\[scheduler\] poll {connection} \({provider}\): completed - seen 5, new 5"
            assert re.search(polled, text), text
        copied = re.search(r"artifacts copied: (\d+) \(klavi \d+\)", text)
        assert copied and int(copied.group(1)) == 6, text  # 5 pulled from Klavi's queue, 1 pushed
        counted = re.search(r"acme: (\d+) events; by resource type: .*analysis 6", text)
        assert counted and int(counted.group(1)) == 3 + 5 * 3, text  # 3 webhooks for acme, 15 polled
        assert re.search(r"globex: 1 event; by resource type: invoice 1", text), text
        assert f"console: {url}/console" in text
        # and the query API answers what it printed, from one process with no children
        assert aggregate.status_code == 200 and aggregate.json()["total"] >= 18
        assert children == []

        # When Ctrl-C reaches it
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"the demo did not stop within 45 s; stderr:\n{errors()}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Then it stops cleanly: exit code 0, no traceback, its ports released, its registration gone
    assert code == 0, errors()
    assert "Traceback" not in errors()
    assert all(_port_is_free(port) for port in (gateway, *provider_ports))
    assert list((tmp_path / ".local" / "run").glob("*.json")) == []


def test_python_m_eventhub_demo_serves_the_fakes_on_the_configured_ports_until_ctrl_c(
    tmp_path: Path,
) -> None:
    # Given a configuration whose poll connections point at free ports
    ports = dict(zip(POLLED, _free_ports(3), strict=True))
    config = _config_polling(tmp_path, ports)

    # When the fakes alone run, as `python -m eventhub.demo` with that configuration
    process = subprocess.Popen(
        [sys.executable, "-m", "eventhub.demo", "--config", str(config), "--events", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (line,) = _lines_until(process, "klavi on", timeout=20)
        vai = f"http://127.0.0.1:{ports['vai-pull']}/api/v1/events"
        with_key = requests.get(vai, headers={"X-API-Key": "vai-dev-api-key-0000"}, timeout=5)
        without = requests.get(vai, timeout=5)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Then each fake listened on its connection's port with its credential, and Ctrl-C stopped them
    for connection, provider in POLLED.items():
        assert f"{provider} on http://127.0.0.1:{ports[connection]}" in line
    assert with_key.status_code == 200 and with_key.json()["total"] == 5
    assert without.status_code == 401
    assert code == 0
    assert all(_port_is_free(port) for port in ports.values())
