"""EventBridge Scheduler -> one poll run of one connection. Input: ``{"connectionId": "..."}``."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from functions.adapters import factory
from functions.adapters.http_client import shared_client
from functions.adapters.spill import SpillQueue
from functions.logic.polling import PollServices, RunBudget, run_poll
from functions.observability import logger, metrics, tracer
from functions.settings import settings


class PollRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    connection_id: str = Field(alias="connectionId", min_length=1)


def _services() -> PollServices:
    queue_url = settings().spill_queue_url
    spill = SpillQueue(queue_url, factory.client("sqs"), factory.blob_store()) if queue_url else None
    return PollServices(
        store=factory.event_store(), http=shared_client(), secrets=factory.secret_resolver(), spill=spill
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    request = PollRequest.model_validate(event)
    summary = run_poll(
        request.connection_id,
        config=factory.registry(),
        services=_services(),
        budget=RunBudget(context.get_remaining_time_in_millis),
    )
    return summary.model_dump(by_alias=True, mode="json")
