"""The pollers' bookkeeping in the table: sync checkpoints and run leases.

Checkpoints and leases are items of their own kind (``checkpoint#<connectionId>``,
``lock#<name>``): no index keys, so no query ever returns them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import table_schema as schema
from functions.adapters import dynamodb
from functions.adapters.event_store.table import WHAT, Table

CHECKPOINT_KIND = "checkpoint"
LOCK_KIND = "lock"


class PollState(Table):
    def get_checkpoint(self, connection_id: str) -> str | None:
        """Where a connection's incremental sync stands: an ISO 8601 time, or None before the first."""
        response = dynamodb.call(
            WHAT,
            self.ddb.get_item,
            TableName=self.table,
            Key={schema.PARTITION_KEY: {"S": f"{CHECKPOINT_KIND}#{connection_id}"}},
            ConsistentRead=True,
        )
        item = response.get("Item") or {}
        if item.get(schema.KIND_ATTRIBUTE, {}).get("S") != CHECKPOINT_KIND:
            return None
        return item["position"]["S"]

    def advance_checkpoint(self, connection_id: str, position: str, *, run_id: str, updated_at: str) -> bool:
        """Move the checkpoint forward to ``position`` (same fixed-width ISO 8601 form, so strings
        compare as times). The write is conditional on the stored position being earlier: two runs
        can never move it backwards. False when it already stands at or past ``position``."""
        return self._put_if(
            {
                schema.PARTITION_KEY: {"S": f"{CHECKPOINT_KIND}#{connection_id}"},
                schema.KIND_ATTRIBUTE: {"S": CHECKPOINT_KIND},
                "position": {"S": position},
                "runId": {"S": run_id},
                "updatedAt": {"S": updated_at},
            },
            "attribute_not_exists(#id) OR #position < :position",
            {"#id": schema.PARTITION_KEY, "#position": "position"},
            {":position": {"S": position}},
        )

    def acquire_lease(self, name: str, owner: str, *, seconds: float, now: float) -> bool:
        """Take the lease ``name`` for ``seconds`` if nobody holds an unexpired one (conditional put)."""
        until = int(now + seconds) + 1
        return self._put_if(
            {
                schema.PARTITION_KEY: {"S": f"{LOCK_KIND}#{name}"},
                schema.KIND_ATTRIBUTE: {"S": LOCK_KIND},
                "owner": {"S": owner},
                "leaseUntil": {"N": str(until)},
                schema.TTL_ATTRIBUTE: {"N": str(until + 86_400)},
            },
            "attribute_not_exists(#id) OR #until < :now",
            {"#id": schema.PARTITION_KEY, "#until": "leaseUntil"},
            {":now": {"N": str(int(now))}},
        )

    def _put_if(
        self, item: dict[str, Any], condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        """A conditional put of a bookkeeping item: False when the condition does not hold."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if dynamodb.is_condition_failure(error):
                return False
            raise dynamodb.unavailable(WHAT, error) from None
        except BotoCoreError as error:
            raise dynamodb.unavailable(WHAT, error) from None
        return True

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back if we still hold it (a lease that expired and was taken is left alone)."""
        try:
            self.ddb.delete_item(
                TableName=self.table,
                Key={schema.PARTITION_KEY: {"S": f"{LOCK_KIND}#{name}"}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as error:
            if not dynamodb.is_condition_failure(error):
                raise dynamodb.unavailable(WHAT, error) from None
        except BotoCoreError as error:
            raise dynamodb.unavailable(WHAT, error) from None
