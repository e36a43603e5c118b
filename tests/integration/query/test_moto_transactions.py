"""The moto patch keeps transactions all-or-nothing while costing only the items they name."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventhub.local.moto_transactions import install


def _put(table: str, key: str, condition: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"TableName": table, "Item": {"id": {"S": key}, "kind": {"S": "t"}}}
    if condition:
        body["ConditionExpression"] = "attribute_not_exists(id)"
    return {"Put": body}


def _add(table: str, key: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"id": {"S": key}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def test_a_cancelled_transaction_changes_nothing_and_leaves_no_stream_record(aws: dict[str, Any]) -> None:
    # Given the patch, a counter at 1 and an existing marker
    install()
    ddb, table = aws["dynamodb"], aws["table"]
    ddb.transact_write_items(TransactItems=[_put(table, "marker-1", True), _add(table, "counter")])
    before = ddb.scan(TableName=table)["Items"]
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["us-east-1"]
    records_before = len(backend.tables[table].stream_shard.items)
    # When a transaction adds to the counter, creates a new item, and re-puts the marker
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(
            TransactItems=[_add(table, "counter"), _put(table, "new"), _put(table, "marker-1", True)]
        )
    # Then it is cancelled with the marker's reason, and nothing of it remains
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert sorted(map(str, ddb.scan(TableName=table)["Items"])) == sorted(map(str, before))
    assert len(backend.tables[table].stream_shard.items) == records_before


def test_a_committed_transaction_applies_every_item(aws: dict[str, Any]) -> None:
    # Given the patch
    install()
    ddb, table = aws["dynamodb"], aws["table"]
    # When three transactions each put a new marker and add to the counter
    for n in range(3):
        ddb.transact_write_items(TransactItems=[_put(table, f"m{n}", True), _add(table, "counter")])
    # Then the counter holds all three additions
    counter = ddb.get_item(TableName=table, Key={"id": {"S": "counter"}})["Item"]
    assert counter["n"] == {"N": "3"}
