"""A poll process killed midway, then restarted: the same set, and no checkpoint regression."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from eventhub.demo import VaiFake
from eventhub.local.stack import LocalStack
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from functions.adapters.secrets import SecretResolver
from functions.logic.polling import PollServices, RunBudget, RunOutcome, run_poll
from functions.models.event import format_timestamp, utcnow
from tests.conftest import ROOT
from tests.integration.polling.conftest import Sleeps, make_http, poll_config, stored_source_ids


def test_a_run_killed_after_page_two_and_restarted_ends_with_the_same_set(vai: VaiFake, tmp_path: Path):
    now = utcnow()
    t0 = now - timedelta(hours=1)
    vai.add_events(40, start=t0 - timedelta(minutes=50), end=t0 - timedelta(minutes=1))
    config = poll_config(vai=vai, since=format_timestamp(t0 - timedelta(hours=1)))
    path = tmp_path / "config.json"
    path.write_text(config.to_json(), encoding="utf-8")
    with LocalStack(path, services=[]) as stack:
        store = EventStore(
            stack.resources["table"], stack.client("dynamodb"),
            BlobStore(stack.resources["bucket"], stack.client("s3")),
        )  # fmt: skip
        services = PollServices(store=store, http=make_http(Sleeps()), secrets=SecretResolver())
        # Given a first run that set the checkpoint at t0, and 300 newer events since
        run_poll("vai-pull", config=config, services=services, budget=RunBudget.for_seconds(300), now=t0)
        checkpoint = store.get_checkpoint("vai-pull")
        assert checkpoint == format_timestamp(t0)
        vai.add_events(300, start=t0 + timedelta(seconds=1), end=now - timedelta(minutes=1))
        # ... and a poll process (`make poll`) that will be killed while it asks for page three
        asked_for_page_three, never = threading.Event(), threading.Event()

        def hold_page_three(request) -> None:
            if request.query.get("offset") == "200" and not asked_for_page_three.is_set():
                asked_for_page_three.set()
                never.wait(30)

        vai.on_request(hold_page_three)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                   "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "eventhub.local.poll", "--config", str(path), "--connection", "vai-pull",
             "--aws-endpoint-url", stack.endpoint_url],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert asked_for_page_three.wait(60), process.communicate(timeout=5)
            # When it is killed there (pages one and two stored), and restarted an hour later
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            never.set()
            if process.poll() is None:
                process.kill()
        clients = {"dynamodb": stack.client("dynamodb"), "table": stack.resources["table"]}
        after_kill = stored_source_ids(clients, "vai")
        assert store.get_checkpoint("vai-pull") == checkpoint
        vai.clear_hooks()
        an_hour_on = PollServices(
            store=store, http=make_http(Sleeps()), secrets=SecretResolver(), clock=lambda: time.time() + 3600
        )
        restarted = run_poll(
            "vai-pull", config=config, services=an_hour_on, budget=RunBudget.for_seconds(300)
        )
        # Then the killed run had stored whole pages only, the restart completed, the stored set is
        # the provider's, each event once, and the checkpoint only moved forwards
        stored = stored_source_ids(clients, "vai")
        assert len(after_kill) == 40 + 200
        assert restarted.outcome is RunOutcome.COMPLETED
        assert set(stored) == vai.ids and len(stored) == len(set(stored)) == 340
        assert restarted.checkpoint is not None and restarted.checkpoint > checkpoint
        assert store.get_checkpoint("vai-pull") == restarted.checkpoint
        assert datetime.fromisoformat(restarted.checkpoint.replace("Z", "+00:00")) > now - timedelta(
            seconds=1
        )
        assert restarted.duplicates >= 200  # what the killed run stored came back as duplicates
