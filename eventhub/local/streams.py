"""The table's stream, dispatched to functions the way Lambda's event source mappings do it.

Each ``Subscription`` stands for one event source mapping: it reads the stream on its own
(its own position per shard), keeps the records its filter patterns match (the same patterns
the stack gives Lambda, same rules), groups them in batches, and invokes its handler with a
real DynamoDB stream event. What comes back is honoured like Lambda honours it:

- ``batchItemFailures``: the batch is retried from the first failed record (an identifier
  that is not in the batch fails the whole batch);
- an exception (a function error): with ``bisect_on_error`` the batch is split in two and
  each half retried (splitting does not count as a retry);
- after ``max_retry_attempts`` retries the records are given up: a message in Lambda's
  on-failure format (the batch's shard and sequence numbers, not the records) goes to the
  subscription's on-failure queue, and the position moves on.

``python -m eventhub.local`` runs one ``StreamDispatcher`` with the copier and the aggregator;
tests drive ``poll_once()`` or ``deliver()`` directly.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from eventhub.local.lambda_runtime import ACCOUNT_ID, REGION, function_name_of
from functions.models.items import AGGREGATOR_STREAM_FILTER, COPIER_STREAM_FILTER

if TYPE_CHECKING:
    from eventhub.local.stack import LocalStack

log = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]
SendFailure = Callable[["Subscription", dict[str, Any]], None]

COPIER_HANDLER = "functions.handlers.copier.handler"
AGGREGATOR_HANDLER = "functions.handlers.aggregator.handler"


@dataclass(frozen=True)
class Subscription:
    """One event source mapping: which records, in what batches, to which handler."""

    name: str
    handler: str
    filters: tuple[Mapping[str, Any], ...] = ()  # any pattern matching admits a record; none: all
    batch_size: int = 100
    max_retry_attempts: int = 2
    bisect_on_error: bool = True
    report_batch_item_failures: bool = True
    timeout_seconds: float = 900.0
    on_failure_queue: str | None = None


def local_subscriptions() -> list[Subscription]:
    """The stack's stream consumers, with the stack's batch sizes and retry limits."""
    return [
        Subscription(
            name="copier",
            handler=COPIER_HANDLER,
            filters=(COPIER_STREAM_FILTER,),
            batch_size=4,
            max_retry_attempts=3,
            on_failure_queue="eventhub-copier-failures",
        ),
        Subscription(
            name="aggregator",
            handler=AGGREGATOR_HANDLER,
            filters=(AGGREGATOR_STREAM_FILTER,),
            batch_size=100,
            max_retry_attempts=5,
            on_failure_queue="eventhub-aggregator-failures",
        ),
    ]


# -- Lambda's filter rules (the subset event source mappings accept) ------------------------------


def _number(value: Any) -> Decimal | None:
    # Only JSON numbers compare numerically: DynamoDB's {"N": "1"} is a string and never matches.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


_COMPARE = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _rule_matches(rule: Any, value: Any) -> bool:
    """One entry of a pattern's list against one (present) scalar value."""
    if not isinstance(rule, dict):
        return rule == value and type(rule) is type(value)
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return bool(operand)
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(operand).lower()
    if operator == "anything-but":
        if isinstance(operand, dict):
            return not _rule_matches(operand, value)
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_rule_matches(item, value) for item in excluded)
    if operator == "numeric":
        number = _number(value)
        if number is None or len(operand) % 2:
            return False
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return all(_COMPARE[op](number, Decimal(str(bound))) for op, bound in pairs)
    raise ValueError(f"unsupported filter operator {operator!r}")


def _field_matches(rules: list[Any], present: bool, value: Any) -> bool:
    if not present:
        return any(isinstance(r, dict) and r.get("exists") is False for r in rules)
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"]:
                return True
            continue
        if any(_rule_matches(rule, v) for v in values):
            return True
    return False


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """True if the record matches the pattern: every key of the pattern must match."""
    for key, expected in pattern.items():
        present = isinstance(record, Mapping) and key in record
        value = record.get(key) if present else None
        if isinstance(expected, Mapping):
            if not present or not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif not _field_matches(list(expected), present, value):
            return False
    return True


def admitted(subscription: Subscription, record: Mapping[str, Any]) -> bool:
    return not subscription.filters or any(matches(p, record) for p in subscription.filters)


# -- records and batches --------------------------------------------------------------------------


def lambda_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A ``GetRecords`` record (as boto3 returns it) in the shape Lambda hands to a function."""
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {
        "eventID": raw.get("eventID", uuid.uuid4().hex),
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@dataclass
class Invocation:
    """One call of the handler, as it went (what tests look at)."""

    sequences: list[str]
    outcome: str  # "ok", "partial", "error"
    failed_from: int | None = None


@dataclass
class Delivery:
    invocations: list[Invocation] = field(default_factory=list)
    given_up: list[list[str]] = field(default_factory=list)


def _first_failure(response: Any, batch: Sequence[Mapping[str, Any]]) -> int | None:
    """Index of the first reported failure; 0 (the whole batch) for an identifier not in it."""
    if not isinstance(response, Mapping):
        return None
    failures = response.get("batchItemFailures") or []
    if not failures:
        return None
    positions = {_sequence(record): n for n, record in enumerate(batch)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if identifier not in positions:
            return 0
        found.append(positions[identifier])
    return min(found)


def failure_message(
    subscription: Subscription,
    records: Sequence[Mapping[str, Any]],
    stream_arn: str,
    shard_id: str,
    invokes: int,
) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's on-failure destination: where the batch was."""

    def arrival(record: Mapping[str, Any]) -> str:
        stamp = record["dynamodb"].get("ApproximateCreationDateTime") or 0
        return datetime.fromtimestamp(float(stamp), UTC).isoformat().replace("+00:00", "Z")

    function = function_name_of(subscription.handler)
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invokes,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": _sequence(records[0]),
            "endSequenceNumber": _sequence(records[-1]),
            "approximateArrivalOfFirstRecord": arrival(records[0]),
            "approximateArrivalOfLastRecord": arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def deliver(
    batch: Sequence[dict[str, Any]],
    subscription: Subscription,
    invoke: Invoke,
    give_up: Callable[[Sequence[dict[str, Any]], int], None],
) -> Delivery:
    """Invoke the handler with one batch until it succeeds or its records are given up."""
    report = Delivery()
    work: deque[tuple[list[dict[str, Any]], int]] = deque([(list(batch), 0)])
    while work:
        records, retries = work.popleft()
        sequences = [_sequence(r) for r in records]
        try:
            response = invoke(subscription.handler, {"Records": records})
        except Exception as error:  # a function error: the whole batch failed
            report.invocations.append(Invocation(sequences, "error", 0))
            log.warning("stream %s: function error (%s)", subscription.name, type(error).__name__)
            if subscription.bisect_on_error and len(records) > 1:
                half = len(records) // 2
                work.appendleft((records[half:], retries))
                work.appendleft((records[:half], retries))
                continue
            failed: list[dict[str, Any]] = records
        else:
            first = _first_failure(response, records) if subscription.report_batch_item_failures else None
            if first is None:
                report.invocations.append(Invocation(sequences, "ok"))
                continue
            report.invocations.append(Invocation(sequences, "partial", first))
            failed = records[first:]
        if retries >= subscription.max_retry_attempts:
            report.given_up.append([_sequence(r) for r in failed])
            give_up(failed, retries + 1)
            continue
        work.appendleft((failed, retries + 1))
    return report


# -- reading the stream ---------------------------------------------------------------------------


class StreamReader:
    """One subscription's position in the stream: every shard, oldest records first."""

    def __init__(self, streams: Any, stream_arn: str, *, start: str = "TRIM_HORIZON") -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self.start = start
        self.iterators: dict[str, str | None] = {}

    def read(self, limit: int = 1000) -> list[tuple[str, list[dict[str, Any]]]]:
        """New records per shard since the last read, in Lambda's record shape."""
        found: list[tuple[str, list[dict[str, Any]]]] = []
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self.start
                )["ShardIterator"]
            iterator = self.iterators[shard_id]
            if iterator is None:  # a closed shard, read to its end
                continue
            response = self.streams.get_records(ShardIterator=iterator, Limit=limit)
            self.iterators[shard_id] = response.get("NextShardIterator")
            records = [lambda_record(r, self.stream_arn) for r in response.get("Records", [])]
            if records:
                found.append((shard_id, records))
        return found


class StreamDispatcher:
    """A background service of the local stack: polls the stream, feeds each subscription."""

    def __init__(
        self,
        subscriptions: Iterable[Subscription] | None = None,
        *,
        poll_seconds: float = 0.2,
        start: str = "TRIM_HORIZON",
    ) -> None:
        self.subscriptions = list(local_subscriptions() if subscriptions is None else subscriptions)
        self.poll_seconds = poll_seconds
        self.start_position = start
        self.readers: dict[str, StreamReader] = {}
        self._invoke: Invoke | None = None
        self._send_failure: SendFailure | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._locks = {s.name: threading.Lock() for s in self.subscriptions}

    def attach(self, streams: Any, stream_arn: str, invoke: Invoke, send_failure: SendFailure) -> None:
        """Wire to a stream and a function runtime (``start`` does this from a LocalStack)."""
        self._invoke = invoke
        self._send_failure = send_failure
        self.readers = {
            s.name: StreamReader(streams, stream_arn, start=self.start_position) for s in self.subscriptions
        }

    def start(self, stack: LocalStack) -> None:
        table = stack.client("dynamodb").describe_table(TableName=stack.resources["table"])["Table"]
        sqs = stack.client("sqs")
        queues = {
            s.name: sqs.create_queue(QueueName=s.on_failure_queue)["QueueUrl"]
            for s in self.subscriptions
            if s.on_failure_queue
        }
        stack.resources.update({f"{name}_failures_queue_url": url for name, url in queues.items()})

        def send_failure(subscription: Subscription, message: dict[str, Any]) -> None:
            from functions import jsonutil

            url = queues.get(subscription.name)
            if url is not None:
                sqs.send_message(QueueUrl=url, MessageBody=jsonutil.dumps(message))

        def invoke(handler: str, event: dict[str, Any]) -> Any:
            timeout = next((s.timeout_seconds for s in self.subscriptions if s.handler == handler), 900.0)
            return stack.invoke(handler, event, timeout_seconds=timeout)

        self.attach(stack.client("dynamodbstreams"), table["LatestStreamArn"], invoke, send_failure)
        self._stop.clear()
        # One poller per subscription: a long copy does not hold up the aggregator, as in AWS.
        for subscription in self.subscriptions:
            thread = threading.Thread(
                target=self._run,
                args=(subscription,),
                name=f"eventhub-stream-{subscription.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def _run(self, subscription: Subscription) -> None:
        while not self._stop.is_set():
            try:
                self.poll(subscription)
            except Exception:  # keep dispatching; the next poll reads from the same position
                log.exception("stream dispatch to %s failed", subscription.name)
            self._stop.wait(self.poll_seconds)

    def poll_once(self) -> int:
        """Read what is new for every subscription and deliver it; the number of records delivered."""
        return sum(self.poll(subscription) for subscription in self.subscriptions)

    def poll(self, subscription: Subscription) -> int:
        """Read what is new for one subscription and deliver it in batches, in stream order."""
        if self._invoke is None or self._send_failure is None:
            raise RuntimeError("the dispatcher is not attached to a stream")
        delivered = 0
        with self._locks[subscription.name]:
            reader = self.readers[subscription.name]
            for shard_id, records in reader.read():
                wanted = [r for r in records if admitted(subscription, r)]
                for start in range(0, len(wanted), subscription.batch_size):
                    batch = wanted[start : start + subscription.batch_size]
                    # Nothing is kept per delivery: a long `make run` must not grow with the stream.
                    self._deliver(subscription, batch, reader.stream_arn, shard_id)
                    delivered += len(batch)
        return delivered

    def _deliver(
        self, subscription: Subscription, batch: list[dict[str, Any]], stream_arn: str, shard_id: str
    ) -> Delivery:
        assert self._invoke is not None and self._send_failure is not None
        send_failure = self._send_failure

        def give_up(records: Sequence[dict[str, Any]], invokes: int) -> None:
            log.warning("stream %s: %d record(s) given up after retries", subscription.name, len(records))
            send_failure(subscription, failure_message(subscription, records, stream_arn, shard_id, invokes))

        return deliver(batch, subscription, self._invoke, give_up)


def local_services(stack: LocalStack) -> list[Any]:
    """The stream dispatcher, and the note local commands (``make recopy``) use to find this stack."""
    from eventhub.local.recopy import StackAddress

    return [StreamDispatcher(), StackAddress()]
