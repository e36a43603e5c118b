"""What each function's cold start loads: a fresh interpreter imports one handler (and, for the
aggregator, serves a stream record), and the heavy modules its path does not need stay unloaded
(docs/performance.md, "Cold start")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from functions.models.event import CanonicalEvent, Channel
from functions.models.items import to_item

ROOT = Path(__file__).resolve().parents[2]

PYDANTIC = "pydantic"
REGISTRY_MODELS = "functions.models.config"  # the registry's connections (pydantic, with validators)
ROUTER = "aws_lambda_powertools.event_handler"  # every resolver Powertools has
BATCH = "aws_lambda_powertools.utilities.batch"  # the batch utility and its parser models
DATA_CLASSES = "aws_lambda_powertools.utilities.data_classes"  # every event data class

# handler -> the modules importing it must not load
NOT_LOADED = {
    "intake": [ROUTER, BATCH, DATA_CLASSES, "cryptography"],
    "poller": [ROUTER, BATCH, DATA_CLASSES],
    "copier": [ROUTER, BATCH, DATA_CLASSES],
    "aggregator": [PYDANTIC, REGISTRY_MODELS, ROUTER, BATCH, DATA_CLASSES],
    "publisher": [REGISTRY_MODELS, ROUTER, BATCH, DATA_CLASSES],
    # The query function needs the router; the list and count routes load their logic on first use.
    "query": [
        BATCH,
        REGISTRY_MODELS,
        "functions.logic.aggregating.combining",
        "functions.adapters.event_index",
    ],
}


def loaded_after(code: str, modules: list[str], env: dict[str, str] | None = None) -> dict[str, bool]:
    script = f"import json, sys\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("handler", sorted(NOT_LOADED))
def test_importing_a_handler_leaves_what_its_path_does_not_need_unloaded(handler: str) -> None:
    # Given a fresh interpreter, When it imports the handler (as a cold start does)
    loaded = loaded_after(f"import functions.handlers.{handler}", NOT_LOADED[handler])
    # Then none of the heavy modules its path does not need is loaded
    assert loaded == dict.fromkeys(NOT_LOADED[handler], False)


def test_the_aggregator_counts_a_stream_record_without_pydantic(tmp_path: Path) -> None:
    # Given the stream record of a stored event
    event = CanonicalEvent(
        id="0b3f6d5e-8d7e-5c1a-9f0e-1a2b3c4d5e6f",
        tenant_id="acme",
        source="klavi",
        source_event_id="42",
        event_type="analysis.analysis_finished",
        occurred_at="2026-01-01T00:00:00.000000Z",
        received_at="2026-01-01T00:00:01.000000Z",
        actor_type="provider",
        actor_id="klavi-push",
        channel=Channel.WEBHOOK,
    )
    record = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": to_item(event, payload_text="{}", payload_ref=None), "SequenceNumber": "7"},
    }
    batch = tmp_path / "batch.json"
    # (with the shard id the aggregator's mapping delivers through its tumbling window)
    batch.write_text(json.dumps({"Records": [record], "shardId": "shardId-000000000001", "state": {}}))
    # When a fresh interpreter serves it with the aggregator (against moto)
    code = f"""
from moto import mock_aws
with mock_aws():
    import boto3
    from functions.table_schema import create_table_params
    boto3.client("dynamodb").create_table(**create_table_params("events"))
    from functions.handlers import aggregator
    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "aggregator", 256, "test"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:aggregator"
    response = aggregator.handler(json.load(open({str(batch)!r})), Context())
    items = boto3.client("dynamodb").scan(TableName="events")["Items"]
    assert response["batchItemFailures"] == [], response
    assert any(i.get("kind", {{}}).get("S") == "counter" for i in items), "the record was not counted"
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "events",
        "BUCKET_NAME": "data",
        "REGISTRY_TABLE_NAME": "registry",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "EventHub",
    }
    loaded = loaded_after(code, [PYDANTIC], env)
    # Then the record was counted and pydantic was never imported
    assert loaded == {PYDANTIC: False}
