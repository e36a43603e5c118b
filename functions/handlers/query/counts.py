"""GET /api/v1/events/aggregate and /stats/by-actor: exact counts over a range, from counters."""
# No "from __future__ import annotations" here: Powertools validation reads the annotations at runtime.

from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.handlers.query.common import From, To, counters, event_index, tenant_of
from functions.handlers.query.documented import responses
from functions.models.api import ActorStats, ActorStatsList, Aggregate, KeyCount
from functions.observability import tracer

router = Router()


@router.get(
    "/api/v1/events/aggregate", summary="Aggregate Events", responses=responses(Aggregate, "exact counts")
)
@tracer.capture_method
def aggregate_events(start: From = None, to: To = None) -> Aggregate:
    from functions.logic.aggregating import combining  # here: only the count routes load the counting logic
    from functions.logic.query.times import half_open

    tenant_id = tenant_of(router.current_event)
    begin, end = half_open(start, to)
    found = combining.aggregate(tenant_id, begin, end, counters(), event_index().edge_events)
    return Aggregate(
        by_actor_type=[KeyCount(key=k, count=n) for k, n in found.by_actor_type],
        by_event_type=[KeyCount(key=k, count=n) for k, n in found.by_event_type],
        by_resource_type=[KeyCount(key=k, count=n) for k, n in found.by_resource_type],
        total=found.total,
    )


@router.get(
    "/api/v1/events/stats/by-actor",
    summary="Stats By Actor",
    responses=responses(ActorStatsList, "events per actor, with successes and failures"),
)
@tracer.capture_method
def stats_by_actor(start: From = None, to: To = None) -> ActorStatsList:
    from functions.logic.aggregating import combining
    from functions.logic.query.times import half_open

    tenant_id = tenant_of(router.current_event)
    begin, end = half_open(start, to)
    store = counters()
    found = combining.actor_stats(tenant_id, begin, end, store, store, event_index().edge_events)
    return ActorStatsList(
        actors=[
            ActorStats(
                actor_id=s.actor_id,
                actor_type=s.actor_type,
                failures=s.failures,
                successes=s.successes,
                total=s.total,
            )
            for s in found
        ]
    )
