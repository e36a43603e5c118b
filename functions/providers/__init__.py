"""One module per provider: signature scheme, envelope mapping, API details."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from functions.models.config import Connection, Provider
from functions.models.event import NewEvent
from functions.providers import exa, extend, klavi, standard_webhooks
from functions.providers.base import Delivery


class WebhookScheme(NamedTuple):
    verify: Callable[[Delivery, Sequence[str]], None]
    map: Callable[[Any, Delivery, Connection], NewEvent]


WEBHOOK_SCHEMES: dict[Provider, WebhookScheme] = {
    Provider.EXTEND: WebhookScheme(extend.verify, extend.map_webhook),
    Provider.EXA: WebhookScheme(exa.verify, exa.map_webhook),
    Provider.KLAVI: WebhookScheme(klavi.verify, klavi.map_webhook),
    Provider.STANDARD_WEBHOOKS: WebhookScheme(standard_webhooks.verify, standard_webhooks.map_webhook),
}
