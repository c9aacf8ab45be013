"""Who listens to which domain event (app/core/events.py): the one list, run at start-up by
`create_app` and by the `bourse` commands that write, so a change announces the same things
whether a page, the API, the worker or the command line made it."""

from __future__ import annotations

from app.syndication import webhooks


def subscribe_handlers() -> None:
    """Subscribes every handler; running it again changes nothing."""
    webhooks.subscribe()
