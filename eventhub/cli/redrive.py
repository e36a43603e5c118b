"""``eventhub replay``'s work: the stack's dead-letter queues redriven, each message removed only
once what it stands for went through (locally, or on a deployed stack with its session)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventhub.cli.errors import EXIT_BAD_INPUT, CliError


def redrive_all(stack: Any) -> tuple[list[str], int]:
    """Every dead-letter queue of the stack, redriven; one line each, and how many messages stay."""
    from eventhub.local.streams.subscriptions import local_subscriptions
    from functions.adapters import factory
    from functions.adapters.spill import SpillQueue
    from functions.logic.polling.recovery import restore_spilled

    spill = SpillQueue(stack.resources["spill_queue_url"], factory.client("sqs"), factory.blob_store())
    report = restore_spilled(spill, factory.event_store(), factory.registry(), wait_seconds=0)
    lines = [
        f"spilled events: {report.restored} restored, {report.duplicates} already stored, "
        f"{report.left_in_queue} left in the queue (cannot be mapped)"
    ]
    left = report.left_in_queue
    names = {
        "copier": "failed copies",
        "aggregator": "failed aggregator batches",
        "publisher": "failed publications",
    }
    for subscription in local_subscriptions():
        if subscription.on_failure_queue is None:
            continue
        rebuild = counter_rebuild(stack.client("dynamodb"), stack.resources["table"])
        redriven, records, kept = redrive_stream_failures(stack, subscription, rebuild=rebuild)
        lines.append(
            f"{names.get(subscription.name, subscription.name)}: {redriven} batch(es) of {records} record(s) "
            f"{_done(subscription)}, {kept} left in {subscription.on_failure_queue}"
        )
        left += kept
    return lines, left


def redrive_deployed(deployed: Any, config_path: Path) -> tuple[list[str], int]:
    """The deployed stack's queues, redriven from here with its session: spilled events mapped
    and stored by the poller's recovery logic, failed batches and polls handed to their function
    again. One line per queue, and how many messages stay."""
    from botocore.exceptions import BotoCoreError, ClientError

    from eventhub.deployed import FAILURE_QUEUE_OUTPUTS
    from eventhub.local.streams.subscriptions import local_subscriptions
    from functions.adapters.spill import SpillQueue
    from functions.errors import HubError
    from functions.logic.polling.recovery import restore_spilled
    from functions.models.config import load_config
    from functions.observability import logger

    logger.setLevel("ERROR")
    try:
        config = load_config(config_path)
    except Exception as error:
        raise CliError(f"{config_path}: cannot read the configuration ({error})", EXIT_BAD_INPUT) from None
    store = deployed.event_store()
    spill = SpillQueue(deployed.output("SpillQueueUrl"), deployed.client("sqs"), store.blobs)
    try:
        report = restore_spilled(spill, store, config, wait_seconds=0)
        lines = [
            f"spilled events: {report.restored} restored, {report.duplicates} already stored, "
            f"{report.left_in_queue} left in the queue (cannot be mapped)"
        ]
        left = report.left_in_queue
        names = {
            "copier": "failed copies",
            "aggregator": "failed aggregator batches",
            "publisher": "failed publications",
        }
        for subscription in local_subscriptions():
            if FAILURE_QUEUE_OUTPUTS[subscription.name] not in deployed.outputs:
                continue  # a stack without that consumer (forwarding turned off)
            url = deployed.output(FAILURE_QUEUE_OUTPUTS[subscription.name])
            rebuild = counter_rebuild(deployed.client("dynamodb"), deployed.output("TableName"))
            redriven, records, kept = redrive_stream_failures(
                deployed, subscription, url=url, rebuild=rebuild
            )
            lines.append(
                f"{names[subscription.name]}: {redriven} batch(es) of {records} record(s) "
                f"{_done(subscription)}, {kept} left in the queue"
            )
            left += kept
        polls, kept = redrive_failed_polls(deployed)
        lines.append(f"failed scheduled polls: {polls} run again, {kept} left in the queue")
        left += kept
    except (HubError, BotoCoreError, ClientError) as error:
        raise CliError(f"replay stopped: {getattr(error, 'message', None) or error}") from None
    return lines, left


def redrive_failed_polls(deployed: Any) -> tuple[int, int]:
    """EventBridge Scheduler's dead letters of the poller (the schedule's ``{"connectionId"}``
    input): the poller invoked again with it; a message goes once that run did not fail."""
    from eventhub.deployed import FUNCTION_OUTPUTS

    poller = next(h for h, key in FUNCTION_OUTPUTS.items() if key == "PollerFunctionName")
    sqs, url = deployed.client("sqs"), deployed.output("PollerDlqQueueUrl")
    done = 0
    kept: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                request = json.loads(message["Body"])
                summary = deployed.invoke(poller, {"connectionId": str(request["connectionId"])})
                ok = not isinstance(summary, dict) or summary.get("outcome") not in ("failed", "auth_failed")
            except (CliError, ValueError, KeyError, TypeError):
                ok = False
            if ok:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                done += 1
            else:
                kept.append(message["ReceiptHandle"])
    for handle in kept:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return done, len(kept)


def _done(subscription: Any) -> str:
    from eventhub.local.streams.subscriptions import AGGREGATOR_HANDLER

    return "recounted" if subscription.handler == AGGREGATOR_HANDLER else "redriven"


def counter_rebuild(dynamodb: Any, table: str) -> Callable[[str | None], None]:
    """Rebuilds one tenant's counters (None: every tenant's) in ``table``."""

    def rebuild(tenant: str | None) -> None:
        from eventhub.local.rebuild_counters import rebuild as rebuild_table

        rebuild_table(dynamodb, table, tenant)

    return rebuild


def redrive_stream_failures(
    stack: Any,
    subscription: Any,
    *,
    url: str | None = None,
    rebuild: Callable[[str | None], None],
) -> tuple[int, int, int]:
    """Lambda's on-failure messages of one stream consumer (the queue at ``url``, or the local
    queue of the subscription): read the batch's records back from the stream and hand them over
    again. A message goes only once its records went through.

    The aggregator's failed batches are not handed to the aggregator again: later batches of
    their shard have moved the watermarks of the counters they share, so the records would be
    taken for counted. ``rebuild`` recounts the tenants of their events instead (every tenant
    when a batch's records have left the stream), and then their messages go."""
    from botocore.exceptions import ClientError

    from eventhub.local.streams.subscriptions import AGGREGATOR_HANDLER

    sqs = stack.client("sqs")
    if url is None:
        try:
            url = sqs.get_queue_url(QueueName=subscription.on_failure_queue)["QueueUrl"]
        except ClientError:
            return 0, 0, 0  # no such queue: nothing ever failed
    streams = stack.client("dynamodbstreams")
    redriven = records_total = 0
    kept: list[str] = []
    tenants: set[str | None] = set()
    to_rebuild: list[str] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            info = json.loads(message["Body"]).get("DDBStreamBatchInfo") or {}
            records = stream_records(streams, info)
            if subscription.handler == AGGREGATOR_HANDLER:
                tenants.update(_tenants_of(records) if records else {None})
                to_rebuild.append(message["ReceiptHandle"])
                records_total += len(records)
                continue
            if records and handed_over(stack, subscription, records, info["streamArn"], info.get("shardId")):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                redriven += 1
                records_total += len(records)
            else:
                kept.append(message["ReceiptHandle"])
    if to_rebuild:
        try:
            for tenant in [None] if None in tenants else sorted(t for t in tenants if t is not None):
                rebuild(tenant)
        except Exception:  # the rebuild failed: the messages stay for a later replay
            kept += to_rebuild
        else:
            for handle in to_rebuild:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
            redriven += len(to_rebuild)
    for handle in kept:  # visible again for the next replay
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return redriven, records_total, len(kept)


def _tenants_of(records: list[dict[str, Any]]) -> set[str | None]:
    """The tenants of a batch's events (None for a record that names none: every tenant)."""
    return {
        str(r["dynamodb"]["NewImage"]["tenantId"]["S"])
        if "tenantId" in r.get("dynamodb", {}).get("NewImage", {})
        else None
        for r in records
    }


def stream_records(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one failed batch (its shard, first to last sequence number), if the stream
    still has them (DynamoDB keeps a stream's records for 24 hours)."""
    from botocore.exceptions import ClientError

    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        last = int(info["endSequenceNumber"])
        found: list[dict[str, Any]] = []
        for _ in range(1000):  # a batch is at most a few thousand records
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                if int(record["dynamodb"]["SequenceNumber"]) > last:
                    return found
                found.append(record)
            iterator = page.get("NextShardIterator")
            if not iterator or not page["Records"]:
                break
        return found
    except (ClientError, KeyError, ValueError):
        return []


def handed_over(
    stack: Any, subscription: Any, records: list[dict[str, Any]], stream_arn: str, shard_id: str | None = None
) -> bool:
    """Redrive one failed batch. Copies: the copier's recopy action for each event of the batch.
    Publications: the publisher again with the same records (it puts at least once). Counts are
    rebuilt instead (``redrive_stream_failures``)."""
    from eventhub.local.streams.delivery import window_fields
    from eventhub.local.streams.filters import admitted
    from eventhub.local.streams.reader import lambda_record
    from eventhub.local.streams.subscriptions import COPIER_HANDLER, PUBLISHER_HANDLER

    batch = [r for r in (lambda_record(raw, stream_arn) for raw in records) if admitted(subscription, r)]
    try:
        if subscription.handler == COPIER_HANDLER:
            event_ids = dict.fromkeys(str(r["dynamodb"]["Keys"]["id"]["S"]) for r in batch)
            for event_id in event_ids:
                report = stack.invoke(COPIER_HANDLER, {"action": "recopy", "eventId": event_id})
                if report.get("found") and any(
                    a.get("status") != "copied" for a in report.get("artifacts", [])
                ):
                    return False
            return True
        if subscription.handler == PUBLISHER_HANDLER:
            fields = window_fields(subscription, stream_arn, shard_id) if shard_id else {}
            for first in range(0, len(batch), subscription.batch_size):
                chunk = batch[first : first + subscription.batch_size]
                answer = stack.invoke(subscription.handler, {"Records": chunk, **fields})
                if isinstance(answer, dict) and answer.get("batchItemFailures"):
                    return False
            return True
    except Exception:  # the function failed again: the message stays for a later replay
        return False
    return False
