"""What the worker can run: each domain registers its job kinds here (in its own tasks.py),
so the queue and the worker never import a domain. `app.tasks` imports every domain's
tasks; the worker, the app and the tests import it before they look anything up.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[None]]
# (up, what the probe saw), given a timeout in seconds.
Probe = Callable[[float], Awaitable[tuple[bool, str]]]


@dataclass(frozen=True)
class Backend:
    probe: Probe  # reachable and ready: what the worker's breaker waits for
    health: Probe  # ready and serving what the jobs need: what people are shown


_handlers: dict[str, Handler] = {}
_needs_model: set[str] = set()
_backend: Backend | None = None


def register(kind: str, handler: Handler, *, needs_model: bool = False) -> None:
    """Run jobs of `kind` with `handler`; with needs_model, hold them back while the model
    backend is down."""
    if _handlers.get(kind, handler) is not handler:
        raise ValueError(f"job kind {kind!r} is already registered to another handler")
    _handlers[kind] = handler
    if needs_model:
        _needs_model.add(kind)


def register_backend(probe: Probe, health: Probe) -> None:
    global _backend
    _backend = Backend(probe, health)


def handlers() -> dict[str, Handler]:
    return dict(_handlers)


def model_kinds() -> frozenset[str]:
    """Kinds whose handlers need the model backend (held back while it is down)."""
    return frozenset(_needs_model)


def backend() -> Backend:
    if _backend is None:
        raise RuntimeError("no model backend is registered (import app.tasks first)")
    return _backend
