"""Background services of the local runtime (the pollers' scheduler, the stream dispatcher).

A module in ``SERVICE_MODULES`` takes part by defining::

    def local_services(stack: LocalStack) -> Iterable[LocalService]

Each service is started with ``start(stack)`` once the resources exist and the environment is
set, before the gateway reports ready, and stopped with ``stop()`` in reverse order. A
service reaches AWS through ``stack.client(name)`` and runs a function through
``stack.invoke(handler_path, event)``, the same way the gateway does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from eventhub.local.stack import LocalStack

SERVICE_MODULES = ("eventhub.local.scheduler", "eventhub.local.streams")


@runtime_checkable
class LocalService(Protocol):
    def start(self, stack: LocalStack) -> None: ...

    def stop(self) -> None: ...


def discover(stack: LocalStack, modules: Iterable[str] = SERVICE_MODULES) -> list[LocalService]:
    """The services the present modules provide; a module that is absent is skipped."""
    found: list[LocalService] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue
            raise
        factory = getattr(module, "local_services", None)
        if factory is not None:
            found.extend(factory(stack))
    return found
