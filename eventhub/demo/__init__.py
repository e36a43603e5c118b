"""Simulated providers: real HTTP servers on 127.0.0.1 for Klavi, VAI and Exa, with fault knobs.

    from eventhub.demo import VaiFake
    with VaiFake(api_key="k") as vai:
        vai.add_events(250)
        vai.throttle(retry_after=1)      # the next request gets 429 + Retry-After: 1
        ... poll f"{vai.url}" ...

``python -m eventhub.demo`` serves all three with seeded events on the ports config/local.json
points at (8181 Klavi, 8182 VAI, 8183 Exa); ``make demo`` (``eventhub.demo.run``) runs them
with the local stack, sends sample webhooks, polls, and prints what was stored. Tests and
benchmarks use the fakes directly. Only the local runtime uses this package: nothing in
``functions/`` imports it, and it is not part of the Lambda asset.
"""

from eventhub.demo.base import FakeProvider, Reply, Request
from eventhub.demo.exa import ExaFake
from eventhub.demo.klavi import KlaviFake
from eventhub.demo.vai import VaiFake

__all__ = ["ExaFake", "FakeProvider", "KlaviFake", "Reply", "Request", "VaiFake"]
