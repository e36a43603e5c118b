"""A provider's list page checked whole before any of it is used: status, envelope, every event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.errors import MalformedPage, MalformedPayload, ProviderError
from functions.models.event import NewEvent
from functions.models.http import HttpResponse


def page_json(response: HttpResponse, where: str) -> dict[str, Any]:
    if response.status != 200:
        raise ProviderError(f"{where} answered {response.status}")
    try:
        body = response.json()
    except MalformedPayload as error:
        raise MalformedPage(f"{where}: {error.message}") from None
    if not isinstance(body, dict):
        raise MalformedPage(f"{where}: the page is not a JSON object")
    return body


def page_field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedPage(
            f"{where}: the page's '{name}' is missing or not a {getattr(kind, '__name__', kind)}"
        )
    return value


def map_all(items: list[Any], mapper: Callable[[Any], NewEvent], where: str) -> list[NewEvent]:
    mapped = []
    for index, item in enumerate(items):
        try:
            mapped.append(mapper(item))
        except MalformedPayload as error:
            raise MalformedPage(f"{where}: event {index} of the page: {error.message}") from None
    return mapped
