"""The stream dispatcher, a background service of the local stack: one poller per subscription
reads the stream, keeps what its filters admit, and delivers it in batches, in stream order."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from eventhub.local.streams.delivery import Delivery, Invoke, deliver, failure_message, window_fields
from eventhub.local.streams.filters import admitted
from eventhub.local.streams.reader import StreamReader
from eventhub.local.streams.subscriptions import Subscription, local_subscriptions

if TYPE_CHECKING:
    from eventhub.local.stack import LocalStack

log = logging.getLogger(__name__)

STOP_WAIT_SECONDS = 15.0

SendFailure = Callable[[Subscription, dict[str, Any]], None]


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
        # Records read but held for a batching window, per subscription (each touched only under
        # its subscription's lock): shard -> (since, records).
        self._held: dict[str, dict[str, tuple[float, list[dict[str, Any]]]]] = {
            s.name: {} for s in self.subscriptions
        }

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
        """Stop every poller: a batch under way is delivered, nothing after it is read. The wait is
        one deadline for all of them, so a stop takes at most ``STOP_WAIT_SECONDS`` however many
        subscriptions there are."""
        self._stop.set()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("stream poller %s still busy at stop; it ends with the process", thread.name)
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
            read = {shard_id: records for shard_id, records in reader.read()}
            for shard_id in dict.fromkeys([*self._waiting(subscription), *read]):
                wanted = [r for r in read.get(shard_id, []) if admitted(subscription, r)]
                for batch in self._batches(subscription, shard_id, wanted):
                    if self._stop.is_set():  # stopping: the rest stays unread, as in a stopped mapping
                        return delivered
                    # Nothing is kept per delivery: a long `make run` must not grow with the stream.
                    self._deliver(subscription, batch, reader.stream_arn, shard_id)
                    delivered += len(batch)
        return delivered

    def deliver_held(self) -> int:
        """Deliver every partial batch a batching window holds, now (the cost suite, before it
        waits for the consumers to be done); the number of records delivered."""
        if self._invoke is None:
            return 0
        delivered = 0
        for subscription in self.subscriptions:
            with self._locks[subscription.name]:
                stream_arn = self.readers[subscription.name].stream_arn
                for shard_id in self._waiting(subscription):
                    _, held = self._held[subscription.name].pop(shard_id)
                    self._deliver(subscription, held, stream_arn, shard_id)
                    delivered += len(held)
        return delivered

    def _waiting(self, subscription: Subscription) -> list[str]:
        return [shard for shard, (_, records) in self._held[subscription.name].items() if records]

    def _batches(
        self, subscription: Subscription, shard_id: str, wanted: list[dict[str, Any]]
    ) -> list[list[dict[str, Any]]]:
        """The batches to deliver now: full ones, and without a batching window the rest too; with
        one, a partial batch waits until its first record has waited the window."""
        size, window = subscription.batch_size, subscription.batching_window_seconds
        if not window:
            return [wanted[start : start + size] for start in range(0, len(wanted), size)]
        since, held = self._held[subscription.name].get(shard_id, (time.monotonic(), []))
        held = held + wanted
        batches = []
        while len(held) >= size:
            batches.append(held[:size])
            held = held[size:]
            since = time.monotonic()
        if held and time.monotonic() - since >= window:
            batches.append(held)
            held = []
        self._held[subscription.name][shard_id] = (since if held else time.monotonic(), held)
        return batches

    def _deliver(
        self, subscription: Subscription, batch: list[dict[str, Any]], stream_arn: str, shard_id: str
    ) -> Delivery:
        assert self._invoke is not None and self._send_failure is not None
        send_failure = self._send_failure

        def give_up(records: Sequence[dict[str, Any]], invokes: int) -> None:
            log.warning("stream %s: %d record(s) given up after retries", subscription.name, len(records))
            send_failure(subscription, failure_message(subscription, records, stream_arn, shard_id, invokes))

        fields = window_fields(subscription, stream_arn, shard_id)
        return deliver(batch, subscription, self._invoke, give_up, fields)


def local_services(stack: LocalStack) -> list[Any]:
    """The stream dispatcher, and the note local commands (``make recopy``) use to find this stack."""
    from eventhub.local.recopy import StackAddress

    forwarding = stack.config.forwarding.enabled if stack.config is not None else True
    return [StreamDispatcher(local_subscriptions(forwarding=forwarding)), StackAddress()]
