"""Figures other packages keep about partners, shown on the staff partner pages without the
pipeline importing them (imports point one way, as for board/badges.py): the partner counters
of app/syndication/attribution.py register here at start-up (app/ops/wiring.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from app.pipeline.models import Partner

# (session, None) → the values of the list of partners; (session, partner) → one partner's.
Provider = Callable[[Session, Partner | None], dict[str, Any]]
PROVIDERS: list[Provider] = []


def register(provider: Provider) -> None:
    """Adds a provider once, however often start-up runs."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def figures_context(session: Session, partner: Partner | None = None) -> dict[str, Any]:
    """The template values every provider gives for the list (`partner` None) or a partner."""
    values: dict[str, Any] = {}
    for provider in PROVIDERS:
        values.update(provider(session, partner))
    return values
