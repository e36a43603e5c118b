"""Reading the table's stream for one subscription: its own position per shard, each record in
the shape Lambda hands to a function."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from eventhub.local.lambda_runtime import REGION


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
