"""Panels of the staff idea page contributed by separate modules (documents, partners,
carrier applications): each registers a function returning extra template context, so the
idea page does not import every feature and each feature keeps its queries to itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.pipeline.models import Idea

Panel = Callable[[Session, Idea, User], dict[str, Any]]
PANELS: list[Panel] = []


def panels_for(session: Session, idea: Idea, user: User) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for panel in PANELS:
        context.update(panel(session, idea, user))
    return context
