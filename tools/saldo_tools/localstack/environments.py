"""Each thread that runs a handler is its own Lambda execution environment, as far as Powertools goes.

On AWS two concurrent requests run in two execution environments (two processes). The local stack runs
every handler in one process, one thread per request, and Powertools' event handler keeps per-request
state where threads share it: the event being handled in class attributes (`BaseRouter.current_event`,
`BaseRouter.lambda_context`, assigned on the class by `resolve`) and the route being resolved in the
resolver's `context` dict. Two requests at once could read each other's query or body.

`install()` makes that state per thread: the two class attributes become properties over a
`threading.local` (a metaclass intercepts the class-level assignments), and each resolver's `context`
is kept per thread. So the local stack can run requests concurrently, as AWS does, without serialising
handlers (which would also hide the races between writers that the tests must see).
"""

from __future__ import annotations

import threading
from typing import Any

_state = threading.local()
_installed = False
_lock = threading.Lock()
CLASS_ATTRIBUTES = ("current_event", "lambda_context")


def _class_attribute(name: str) -> property:
    def get(self: Any) -> Any:
        try:
            return _state.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def set_(self: Any, value: Any) -> None:
        _state.__dict__[name] = value

    return property(get, set_)


def _contexts() -> dict[int, dict[str, Any]]:
    return _state.__dict__.setdefault("contexts", {})


def _context_get(self: Any) -> dict[str, Any]:
    return _contexts().setdefault(id(self), {})


def _context_set(self: Any, value: dict[str, Any]) -> None:
    _contexts()[id(self)] = value


def install() -> None:
    """Idempotent; applies to every resolver of the process."""
    global _installed
    with _lock:
        if _installed:
            return
        from aws_lambda_powertools.event_handler import api_gateway

        base = api_gateway.BaseRouter
        meta = type(base)

        class PerThreadAttributes(meta):  # type: ignore[misc, valid-type]
            def __setattr__(cls, name: str, value: Any) -> None:
                if cls is base and name in CLASS_ATTRIBUTES:
                    _state.__dict__[name] = value
                    return
                super().__setattr__(name, value)

        for name in CLASS_ATTRIBUTES:
            type.__setattr__(base, name, _class_attribute(name))
        base.__class__ = PerThreadAttributes
        api_gateway.ApiGatewayResolver.context = property(_context_get, _context_set)  # type: ignore[assignment]
        _installed = True
