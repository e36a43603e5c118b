"""Provider fakes: real HTTP servers on 127.0.0.1 for Klavi, VAI and Exa, with fault knobs.

    from tests.fakes import VaiFake
    with VaiFake(api_key="k") as vai:
        vai.add_events(250)
        vai.throttle(retry_after=1)      # the next request gets 429 + Retry-After: 1
        ... poll f"{vai.url}" ...

``python -m tests.fakes`` serves all three with seeded events on the ports config/local.json
points at (8181 Klavi, 8182 VAI, 8183 Exa).
"""

from tests.fakes.base import FakeProvider, Reply, Request
from tests.fakes.exa import ExaFake
from tests.fakes.klavi import KlaviFake
from tests.fakes.vai import VaiFake

__all__ = ["ExaFake", "FakeProvider", "KlaviFake", "Reply", "Request", "VaiFake"]
