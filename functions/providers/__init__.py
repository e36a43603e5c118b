"""One module per provider: signature scheme, envelope mapping, API details."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from functions.models.config import Connection, Provider
from functions.models.event import NewEvent
from functions.providers import exa, extend, generic_hmac, klavi, standard_webhooks
from functions.providers.base import Delivery

Verify = Callable[[Delivery, Sequence[str], Connection], None]


class WebhookScheme(NamedTuple):
    verify: Verify
    map: Callable[[Any, Delivery, Connection], NewEvent]


def _by_secrets(verify: Callable[[Delivery, Sequence[str]], None]) -> Verify:
    """A scheme verified by the connection's secrets alone."""
    return lambda delivery, secrets, _connection: verify(delivery, secrets)


def _standard_webhooks(delivery: Delivery, secrets: Sequence[str], connection: Connection) -> None:
    standard_webhooks.verify(delivery, secrets, connection.public_keys or ())


WEBHOOK_SCHEMES: dict[Provider, WebhookScheme] = {
    Provider.EXTEND: WebhookScheme(_by_secrets(extend.verify), extend.map_webhook),
    Provider.EXA: WebhookScheme(_by_secrets(exa.verify), exa.map_webhook),
    Provider.KLAVI: WebhookScheme(_by_secrets(klavi.verify), klavi.map_webhook),
    Provider.STANDARD_WEBHOOKS: WebhookScheme(_standard_webhooks, standard_webhooks.map_webhook),
    Provider.HMAC: WebhookScheme(generic_hmac.verify, generic_hmac.map_webhook),
}
