"""Badges other packages put on need cards and pages, without the board importing them
(imports point one way: accounts ← board ← the rest). The pipeline registers one that shows
the stage of the idea a need became (SPEC §4: « À l'étude », « Recherche de porteur »…)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session


@dataclass(frozen=True)
class NeedBadge:
    label: str  # already translated, e.g. « Idée : à l'étude »
    url: str | None = None


Provider = Callable[[Session, list[int]], dict[int, NeedBadge]]
PROVIDERS: list[Provider] = []


def badges_for(session: Session, need_ids: Iterable[int]) -> dict[int, NeedBadge]:
    """need id → its badge; one query per provider, whatever the number of needs."""
    ids = [i for i in need_ids if i is not None]
    found: dict[int, NeedBadge] = {}
    if not ids:
        return found
    for provider in PROVIDERS:
        found.update(provider(session, ids))
    return found
