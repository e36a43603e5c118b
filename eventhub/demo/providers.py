"""The three simulated providers together: seeded, growing, on the ports a configuration polls.

    providers = SimulatedProviders.for_config("config/local.json").start()
    ...                      # Klavi, VAI and Exa answer on 8181-8183 and gain events every 10 s
    providers.stop()

Each fake takes the poll credential its provider's connection uses in the configuration, and
listens on the port of that connection's ``baseUrl`` (or the one given).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from eventhub.demo.base import FakeProvider
from eventhub.demo.exa import ExaFake
from eventhub.demo.klavi import KlaviFake
from eventhub.demo.vai import VaiFake
from functions.models.config import load_config

DEFAULT_PORTS = {"klavi": 8181, "vai": 8182, "exa": 8183}
DEFAULT_KEYS = {"klavi": "klavi-fake-secret-key", "vai": "vai-fake-api-key", "exa": "exa-fake-api-key"}


@dataclass(frozen=True)
class PollTarget:
    """What a configuration expects of one provider's API: its credential and its port."""

    credential: str
    port: int


def poll_targets(config_path: str | Path) -> dict[str, PollTarget]:
    """Provider -> the credential and port of its first poll connection in the configuration
    (a connection whose credential is a Secrets Manager name is skipped: the fake needs a value)."""
    found: dict[str, PollTarget] = {}
    for connection in load_config(config_path).connections:
        provider = connection.provider.value
        if connection.poll is None or provider not in DEFAULT_PORTS or provider in found:
            continue
        credential = connection.poll.credential
        if isinstance(credential, str):
            port = urlsplit(connection.poll.base_url).port or DEFAULT_PORTS[provider]
            found[provider] = PollTarget(credential, port)
    return found


class SimulatedProviders:
    """Klavi's queue, VAI's and Exa's event lists; ``start()`` seeds them and starts the growth."""

    def __init__(
        self,
        targets: dict[str, PollTarget] | None = None,
        *,
        events: int = 50,
        every: float = 10.0,
    ) -> None:
        targets = targets or {}

        def target(provider: str) -> PollTarget:
            return targets.get(provider) or PollTarget(DEFAULT_KEYS[provider], DEFAULT_PORTS[provider])

        self.klavi = KlaviFake(target("klavi").credential, port=target("klavi").port)
        self.vai = VaiFake(target("vai").credential, port=target("vai").port)
        self.exa = ExaFake(target("exa").credential, port=target("exa").port)
        self.events = events
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_config(
        cls, config_path: str | Path, *, events: int = 50, every: float = 10.0
    ) -> SimulatedProviders:
        return cls(poll_targets(config_path), events=events, every=every)

    @property
    def fakes(self) -> tuple[FakeProvider, ...]:
        return (self.klavi, self.vai, self.exa)

    def start(self) -> SimulatedProviders:
        """Bind the three ports (an OSError names the one in use), seed, start growing."""
        for fake in self.fakes:
            try:
                fake.start()
            except OSError as error:
                self.stop()
                where = f"{type(fake).__name__} cannot listen on port {fake.requested_port}"
                raise OSError(error.errno, f"{where}: {error.strerror}") from error
        self.klavi.enqueue(self.events)
        self.vai.add_events(self.events)
        self.exa.add_events(self.events)
        self._stop.clear()
        self._thread = threading.Thread(target=self._grow_loop, name="demo-providers", daemon=True)
        self._thread.start()
        return self

    def grow(self) -> None:
        """One round of new events: two in Klavi's queue, one "now" each for VAI and Exa."""
        now = datetime.now(UTC)
        self.klavi.enqueue(2)
        self.vai.insert(self.vai.make_event(now))
        self.exa.insert(self.exa.make_event(now))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for fake in self.fakes:
            fake.stop()

    def describe(self) -> str:
        return f"Klavi on {self.klavi.url}, VAI on {self.vai.url}, Exa on {self.exa.url}"

    def _grow_loop(self) -> None:
        while not self._stop.wait(self.every):
            self.grow()
