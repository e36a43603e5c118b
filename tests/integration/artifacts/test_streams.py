"""The local stream dispatcher: Lambda's filters, batches, partial failures, bisection, on-failure."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from eventhub.local.streams.delivery import deliver
from eventhub.local.streams.dispatcher import StreamDispatcher
from eventhub.local.streams.filters import admitted, matches
from eventhub.local.streams.subscriptions import Subscription, local_subscriptions
from functions.adapters.blob_store import BlobStore
from functions.adapters.event_store import EventStore
from functions.models.items import AGGREGATOR_STREAM_FILTER, COPIER_STREAM_FILTER
from tests.conftest import EVENTS_DIR

SAMPLES = EVENTS_DIR / "dynamodb_stream"


def record(seq: int, name: str = "INSERT", **image: Any) -> dict[str, Any]:
    return {
        "eventName": name,
        "dynamodb": {"SequenceNumber": str(seq), "Keys": {"id": {"S": f"e{seq}"}}, "NewImage": image},
    }


class FakeFunction:
    """A handler that fails on chosen records: by raising, or by reporting them."""

    def __init__(
        self, *, raise_on: Sequence[int] = (), report: Sequence[int] = (), heal_after: int = 99
    ) -> None:
        self.raise_on = {str(s) for s in raise_on}
        self.report = {str(s) for s in report}
        self.heal_after = heal_after
        self.calls: list[list[str]] = []
        self.batches: list[list[dict[str, Any]]] = []
        self.report_last = False

    def __call__(self, handler: str, event: dict[str, Any]) -> dict[str, Any]:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        self.calls.append(sequences)
        self.batches.append(event["Records"])
        if self.report_last:
            return {"batchItemFailures": [{"itemIdentifier": sequences[-1]}]}
        if len(self.calls) > self.heal_after:
            return {"batchItemFailures": []}
        if self.raise_on & set(sequences):
            raise RuntimeError("poison record")
        failed = [s for s in sequences if s in self.report]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


def subscription(**overrides: Any) -> Subscription:
    values: dict[str, Any] = {"name": "test", "handler": "tests.fake.handler", "max_retry_attempts": 2}
    values.update(overrides)
    return Subscription(**values)


# -- filters ----------------------------------------------------------------------------------------


def test_copier_filter_admits_only_records_with_pending_artifacts() -> None:
    # Given a new event with pending artifacts, a modified one with none left, and one without artifacts
    pending = record(1, pendingArtifacts={"N": "1"}, kind={"S": "event"})
    done = record(2, "MODIFY", pendingArtifacts={"N": "0"}, kind={"S": "event"})
    none = record(3, kind={"S": "event"})
    # When each is matched against the copier's stream filter
    # Then only the one with pending artifacts is admitted
    assert matches(COPIER_STREAM_FILTER, pending)
    assert not matches(COPIER_STREAM_FILTER, done)
    assert not matches(COPIER_STREAM_FILTER, none)
    # And a removal is not, whatever it held
    assert not matches(COPIER_STREAM_FILTER, record(4, "REMOVE", pendingArtifacts={"N": "1"}))


def test_aggregator_filter_admits_only_new_events() -> None:
    # When new events, modified events and counter items are matched against the aggregator's filter
    # Then only new events are admitted
    assert matches(AGGREGATOR_STREAM_FILTER, record(1, kind={"S": "event"}))
    assert not matches(AGGREGATOR_STREAM_FILTER, record(2, "MODIFY", kind={"S": "event"}))
    assert not matches(AGGREGATOR_STREAM_FILTER, record(3, kind={"S": "counter"}))


def test_numeric_rules_do_not_compare_dynamodb_numbers_as_lambda_does_not() -> None:
    # DynamoDB numbers are strings in a stream record; Lambda's numeric rule never matches them
    # When a numeric rule meets a DynamoDB number in a stream record
    pattern = {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0]}]}}}}
    # Then it does not match (the number is a string there)
    assert not matches(pattern, record(1, n={"N": "5"}))
    # When a numeric rule meets a JSON number
    # Then it matches within its bounds only
    assert matches({"size": [{"numeric": [">", 0, "<=", 10]}]}, {"size": 5})
    assert not matches({"size": [{"numeric": [">", 0, "<=", 10]}]}, {"size": 11})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ({"k": [{"exists": False}]}, {}, True),
        ({"k": [{"exists": False}]}, {"k": "v"}, False),
        ({"k": [{"exists": True}]}, {"k": "v"}, True),
        ({"k": [{"prefix": "ab"}]}, {"k": "abc"}, True),
        ({"k": [{"anything-but": ["a", "b"]}]}, {"k": "c"}, True),
        ({"k": [{"anything-but": ["a", "b"]}]}, {"k": "a"}, False),
        ({"k": [{"anything-but": "a"}]}, {}, False),
        ({"k": ["x", "y"]}, {"k": ["z", "y"]}, True),
        ({"k": ["1"]}, {"k": 1}, False),
    ],
)
def test_each_filter_rule_matches_as_lambda_event_filtering_does(
    pattern: dict[str, Any], value: dict[str, Any], expected: bool
) -> None:
    # When a value is matched against one of Lambda's filter rules
    # Then it matches exactly when Lambda's event filtering would
    assert matches(pattern, value) is expected


def test_sample_stream_events_are_routed_as_the_stack_routes_them() -> None:
    # Given the stack's stream subscriptions and the sample stream records
    subs = {s.name: s for s in local_subscriptions()}
    insert = json.loads((SAMPLES / "klavi_pending_artifact_insert.json").read_text())["Records"][0]
    modify = json.loads((SAMPLES / "klavi_artifact_copied_modify.json").read_text())["Records"][0]
    # When the sample insert of an event with a pending artifact is matched
    # Then both the copier and the aggregator admit it
    assert admitted(subs["copier"], insert) and admitted(subs["aggregator"], insert)
    # And neither admits the sample modification that records the copy
    assert not admitted(subs["copier"], modify) and not admitted(subs["aggregator"], modify)


# -- batch semantics --------------------------------------------------------------------------------


def test_partial_failure_retries_from_the_first_failed_record() -> None:
    # Given a batch where record 3 fails once
    function = FakeFunction(report=[3], heal_after=1)
    given_up: list[Any] = []

    # When it is delivered
    report = deliver(
        [record(n) for n in range(1, 6)], subscription(), function, lambda r, n: given_up.append(r)
    )

    # Then the retry starts at record 3: records 1 and 2 are not delivered again
    assert function.calls == [["1", "2", "3", "4", "5"], ["3", "4", "5"]]
    assert given_up == [] and [i.outcome for i in report.invocations] == ["partial", "ok"]


def test_partial_failure_is_given_up_after_the_retry_limit() -> None:
    # Given a batch where record 2 always fails, and two retries allowed
    function = FakeFunction(report=[2])
    given_up: list[tuple[list[str], int]] = []

    # When it is delivered
    deliver(
        [record(n) for n in range(1, 4)],
        subscription(max_retry_attempts=2),
        function,
        lambda r, n: given_up.append(([x["dynamodb"]["SequenceNumber"] for x in r], n)),
    )

    # Then after one call and two retries, records 2 on go to the on-failure destination
    assert function.calls == [["1", "2", "3"], ["2", "3"], ["2", "3"]]
    assert given_up == [(["2", "3"], 3)]


def test_function_error_bisects_until_the_poison_record_is_isolated() -> None:
    # Given a batch of four where record 3 makes the function raise
    function = FakeFunction(raise_on=[3])
    given_up: list[list[str]] = []

    # When it is delivered with bisect on error
    report = deliver(
        [record(n) for n in range(1, 5)],
        subscription(max_retry_attempts=1),
        function,
        lambda r, n: given_up.append([x["dynamodb"]["SequenceNumber"] for x in r]),
    )

    # Then halves are tried in order, the poison record alone is retried then given up,
    # and every other record is delivered once successfully
    assert function.calls == [["1", "2", "3", "4"], ["1", "2"], ["3", "4"], ["3"], ["3"], ["4"]]
    assert given_up == [["3"]]
    assert report.given_up == [["3"]]


def test_function_error_without_bisect_retries_the_whole_batch() -> None:
    # Given a batch where record 2 makes the function raise, bisection off and two retries allowed
    function = FakeFunction(raise_on=[2])
    given_up: list[int] = []

    # When it is delivered
    deliver(
        [record(1), record(2)],
        subscription(bisect_on_error=False, max_retry_attempts=2),
        function,
        lambda r, n: given_up.append(len(r)),
    )

    # Then the whole batch is retried twice, then given up whole
    assert function.calls == [["1", "2"]] * 3 and given_up == [2]


def test_an_unknown_item_identifier_fails_the_whole_batch() -> None:
    # Given a function that first reports a failed record by an identifier not in the batch
    calls: list[int] = []

    def function(handler: str, event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            return {"batchItemFailures": [{"itemIdentifier": "not-a-sequence-number"}]}
        return {"batchItemFailures": []}

    # When a batch is delivered to it
    deliver([record(1), record(2)], subscription(), function, lambda r, n: None)

    # Then the whole batch is retried
    assert calls == [2, 2]


# -- against the table's real stream (moto) ---------------------------------------------------------


@pytest.fixture
def dispatch(aws: dict[str, Any]) -> tuple[StreamDispatcher, FakeFunction, list[dict[str, Any]], EventStore]:
    function = FakeFunction()
    failures: list[dict[str, Any]] = []
    arn = aws["dynamodb"].describe_table(TableName=aws["table"])["Table"]["LatestStreamArn"]
    streams = aws["dynamodbstreams"]
    copier = next(s for s in local_subscriptions() if s.name == "copier")
    dispatcher = StreamDispatcher([copier])
    dispatcher.attach(streams, arn, function, lambda sub, message: failures.append(message))
    store = EventStore(aws["table"], aws["dynamodb"], BlobStore(aws["bucket"], aws["s3"]))
    return dispatcher, function, failures, store


def _put(store: EventStore, aws: dict[str, Any], n: int, pending: int | None) -> None:
    item = {"id": {"S": f"evt-{n}"}, "kind": {"S": "event"}}
    if pending is not None:
        item["pendingArtifacts"] = {"N": str(pending)}
    aws["dynamodb"].put_item(TableName=aws["table"], Item=item)


def test_dispatcher_reads_the_stream_in_order_and_batches_filtered_records(
    aws: dict[str, Any], dispatch: tuple[StreamDispatcher, FakeFunction, list[dict[str, Any]], EventStore]
) -> None:
    dispatcher, function, failures, store = dispatch
    # Given six items, four of them with pending artifacts
    for n, pending in enumerate([1, None, 2, 0, 1, 1]):
        _put(store, aws, n, pending)

    # When the dispatcher polls twice
    delivered = dispatcher.poll_once()
    again = dispatcher.poll_once()

    # Then the copier got the four pending records, in stream order, in batches of four, once
    keys = [[r["dynamodb"]["Keys"]["id"]["S"] for r in batch] for batch in function.batches]
    assert delivered == 4 and again == 0
    assert keys == [["evt-0", "evt-2", "evt-4", "evt-5"]]
    assert failures == []


def test_records_given_up_land_in_the_on_failure_queue_in_lambdas_format(
    aws: dict[str, Any], dispatch: tuple[StreamDispatcher, FakeFunction, list[dict[str, Any]], EventStore]
) -> None:
    dispatcher, function, failures, store = dispatch
    # Given a copier that keeps reporting the last record of its batch as failed
    function.report_last = True
    _put(store, aws, 1, 1)
    _put(store, aws, 2, 1)

    # When the dispatcher delivers the batch
    dispatcher.poll_once()

    # Then record 2 was tried 1 + 3 times, record 1 once, then record 2 was given up with its
    # shard and sequence number, in the shape Lambda sends to an on-failure destination
    last = function.calls[0][-1]
    assert function.calls == [function.calls[0]] + [[last]] * 3
    (message,) = failures
    info = message["DDBStreamBatchInfo"]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 4
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (1, last, last)
    assert info["shardId"] and info["streamArn"].startswith(
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{aws['table']}/stream/"
    )


def test_a_stopping_dispatcher_delivers_the_batch_under_way_and_reads_no_further(
    aws: dict[str, Any], dispatch: tuple[StreamDispatcher, FakeFunction, list[dict[str, Any]], EventStore]
) -> None:
    dispatcher, function, failures, store = dispatch
    # Given eight pending records (two batches of four), and a stop that arrives during the first
    for n in range(8):
        _put(store, aws, n, 1)
    deliver_batch = function.__call__

    def stop_during(handler: str, event: dict[str, Any]) -> dict[str, Any]:
        dispatcher.stop()
        return deliver_batch(handler, event)

    dispatcher._invoke = stop_during

    # When the dispatcher polls
    delivered = dispatcher.poll_once()

    # Then the batch under way was delivered whole and the second was not started
    assert delivered == 4
    assert [len(batch) for batch in function.batches] == [4]
    assert failures == []


def test_a_batching_window_holds_a_partial_batch_until_it_fills_or_the_window_ends(
    aws: dict[str, Any], dispatch: tuple[StreamDispatcher, FakeFunction, list[dict[str, Any]], EventStore]
) -> None:
    dispatcher, function, failures, store = dispatch
    # Given a copier mapping of batches of 4 gathered for up to 0.3 s, and six pending records
    (copier,) = dispatcher.subscriptions
    windowed = replace(copier, batching_window_seconds=0.3)
    dispatcher.subscriptions = [windowed]
    for n in range(6):
        _put(store, aws, n, 1)
    # When the dispatcher polls at once, then again before the window ends
    first, second = dispatcher.poll(windowed), dispatcher.poll(windowed)
    # Then only the full batch went; the two others wait
    assert (first, second) == (4, 0)
    # When the window has passed
    time.sleep(0.35)
    third = dispatcher.poll(windowed)
    # Then the partial batch goes, every record once, in stream order, with the shard's fields
    keys = [[r["dynamodb"]["Keys"]["id"]["S"] for r in batch] for batch in function.batches]
    assert third == 2
    assert keys == [[f"evt-{n}" for n in range(4)], ["evt-4", "evt-5"]]
    assert failures == []


def test_the_aggregators_events_carry_the_shard_as_a_tumbling_window_gives_it(
    aws: dict[str, Any],
) -> None:
    # Given the local aggregator subscription and an event stored
    seen: list[dict[str, Any]] = []
    arn = aws["dynamodb"].describe_table(TableName=aws["table"])["Table"]["LatestStreamArn"]
    aggregator = next(s for s in local_subscriptions() if s.name == "aggregator")
    dispatcher = StreamDispatcher([aggregator])
    dispatcher.attach(aws["dynamodbstreams"], arn, lambda _h, event: seen.append(event), lambda *_: None)
    _put(EventStore(aws["table"], aws["dynamodb"], BlobStore(aws["bucket"], aws["s3"])), aws, 1, None)
    # When the dispatcher delivers it
    dispatcher.poll_once()
    # Then the event names its shard and window, with an empty state, as Lambda's does
    (event,) = seen
    shard = aws["dynamodbstreams"].describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    assert event["shardId"] == shard["ShardId"] and event["eventSourceARN"] == arn
    assert event["state"] == {} and event["isFinalInvokeForWindow"] is False
    assert event["window"]["start"] < event["window"]["end"]


def test_held_records_can_be_handed_over_before_their_window_ends(
    aws: dict[str, Any], dispatch: tuple[StreamDispatcher, FakeFunction, list[dict[str, Any]], EventStore]
) -> None:
    dispatcher, function, _, store = dispatch
    # Given a mapping with a minute's window holding two records of a partial batch
    (copier,) = dispatcher.subscriptions
    dispatcher.subscriptions = [replace(copier, batching_window_seconds=60.0)]
    _put(store, aws, 1, 1)
    _put(store, aws, 2, 1)
    assert dispatcher.poll_once() == 0
    # When they are handed over now
    # Then they go as one batch, once
    assert dispatcher.deliver_held() == 2
    assert dispatcher.deliver_held() == 0 and dispatcher.poll_once() == 0
    assert [[r["dynamodb"]["Keys"]["id"]["S"] for r in b] for b in function.batches] == [["evt-1", "evt-2"]]
