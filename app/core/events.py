"""Domain events: a package says what happened to its data, and the packages above it act on
that, without the lower one importing them (imports point one way: see README, "Architecture
in ten lines").

An event is a small frozen dataclass defined by the package that owns the data
(`app/board/events.py`, `app/pipeline/events.py`). `announce(session, event)` calls at once,
in the order they subscribed, every handler of the event's class with the session of the
change: what a handler writes belongs to the same transaction, so a rollback drops it along
with the change and a commit keeps both (a webhook delivery is never queued for a change that
did not happen). A handler that raises aborts the change, as a direct call would.

Handlers subscribe at start-up (`app/ops/wiring.py`, called by `create_app` and by the
`bourse` commands that write). Subscribing the same handler again keeps one subscription, so a
process that builds several apps (the tests do) never delivers an event twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from sqlmodel import Session


class Event:
    """Base of the domain events; `name` is the dotted name the documentation uses."""

    name: ClassVar[str]


E = TypeVar("E", bound=Event)
Handler = Callable[[Session, Any], None]

_handlers: dict[type[Event], list[Handler]] = {}


def subscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """Calls `handler(session, event)` for every `event_type` announced from now on; a handler
    already subscribed to it stays subscribed once."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """The reverse of subscribe (tests that listen for a while); unknown handlers are ignored."""
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def handlers_of(event_type: type[Event]) -> tuple[Handler, ...]:
    """Who listens to `event_type`, in calling order."""
    return tuple(_handlers.get(event_type, ()))


def announce(session: Session, event: Event) -> None:
    """Tells every subscriber of `type(event)` what happened, inside the caller's transaction
    (before its commit)."""
    for handler in handlers_of(type(event)):
        handler(session, event)
