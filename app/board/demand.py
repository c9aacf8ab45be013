"""Demand in people: how many distinct people stand behind a group of needs, per concern
(« j'ai ce besoin », « j'utiliserais »…) and per territory — the evidence an opportunity study
and a funder ask for (issue 17).

A group is whatever the caller makes of needs: one need (the API's `demand`), an idea's public
needs (its page, its JSON's `supporters`, the ideas CSV), a page of the qualification list. The
caller gives the pairs (group key, need id) as a SELECT; this module counts the supports behind
them, in one statement for every group at once (three GROUP BYs joined by UNION ALL), with
COUNT(DISTINCT user_id): a person who supported two needs of an idea counts once for it.

What is counted per concern and per territory is what each person answered on each need: a
person who said « j'ai ce besoin » on one need and « je pourrais aider » on another counts once
under each, so the rows of a breakdown may add up to more than its people. Supports without an
answer are counted as `unspecified`.

People met offline (app.board.models.OfflineCollection, recorded by staff) are counted apart, as
`offline`: the sum of the people of the groups' collections, in the same statement. They are
not accounts: they are never in `people`, and two collections are never assumed to share
anyone (a group's offline figure is the sum over its needs' collections).

Cost: every statement here is led by the pairs the caller gives, then reaches `supports` by
its (need_id, user_id) unique index. Callers keep the groups few (a page, an idea, a batch),
never « all needs ».
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, cast, func, literal_column, null, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select
from sqlmodel import Session

from app.board.models import Concern, Need, OfflineCollection, Support, Territory

CONCERNS: tuple[str, ...] = tuple(c.value for c in Concern)


@dataclass(frozen=True)
class TerritoryPeople:
    """Distinct people of a group who named this territory (None: who named none)."""

    territory_id: int | None
    name: str | None
    name_en: str | None
    people: int


@dataclass
class Demand:
    """The distinct people behind a group of needs."""

    people: int = 0
    by_concern: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONCERNS, 0))
    unspecified: int = 0  # people with at least one support giving no answer
    by_territory: list[TerritoryPeople] = field(default_factory=list)
    offline: int = 0  # people met offline (« recueilli hors ligne »), not in `people`

    def concern_counts(self) -> dict[str, int]:
        """{concern: people}, every concern present."""
        return dict(self.by_concern)

    def api_counts(self) -> dict[str, int]:
        """The API's `demand`: {concern: people}, every concern present, and `offline`."""
        return {**self.by_concern, "offline": self.offline}


def demand_of(
    connection: Session | Connection, pairs: Select[Any], *, territories: bool = True
) -> dict[Any, Demand]:
    """group key → Demand, for the groups `pairs` names: a SELECT of two columns, the group's
    key then a need id (e.g. idea_needs' idea_id, need_id). Groups without any support or
    offline collection are absent (callers use `Demand()` for them). `territories=False` skips
    the territory rows."""
    groups = pairs.subquery("demand_groups")
    key, need_id = list(groups.c)[:2]
    people = func.count(func.distinct(Support.user_id))
    text_none, number_none = cast(null(), String), cast(null(), Integer)

    def base(kind: int, text: Any, text_en: Any, number: Any) -> Select[Any]:
        return (
            sa_select(
                literal_column(str(kind)).label("kind"),
                key.label("key"),
                text.label("text"),
                text_en.label("text_en"),
                number.label("number"),
                people.label("people"),
            )
            .select_from(groups)
            .join(Support, Support.need_id == need_id)  # type: ignore[arg-type]
        )

    parts = [
        base(0, text_none, text_none, number_none).group_by(key),
        base(1, Support.concern, text_none, number_none).group_by(key, Support.concern),
    ]
    if territories:
        parts.append(
            base(2, Territory.name, Territory.name_en, Territory.id)
            .outerjoin(Territory, Territory.id == Support.territory_id)  # type: ignore[arg-type]
            .group_by(key, Territory.id, Territory.name, Territory.name_en)
        )
    parts.append(
        sa_select(
            literal_column("3").label("kind"),
            key.label("key"),
            text_none.label("text"),
            text_none.label("text_en"),
            number_none.label("number"),
            func.sum(OfflineCollection.people).label("people"),
        )
        .select_from(groups)
        .join(OfflineCollection, OfflineCollection.need_id == need_id)  # type: ignore[arg-type]
        .group_by(key)
    )
    result: dict[Any, Demand] = {}
    for kind, group, text, text_en, number, count in connection.execute(union_all(*parts)):
        demand = result.setdefault(group, Demand())
        if kind == 0:
            demand.people = int(count)
        elif kind == 3:
            demand.offline = int(count)
        elif kind == 1:
            if text in demand.by_concern:
                demand.by_concern[text] = int(count)
            else:
                demand.unspecified += int(count)
        else:
            demand.by_territory.append(TerritoryPeople(number, text, text_en, int(count)))
    for demand in result.values():
        # Largest first, then by name; the people who named no territory last.
        demand.by_territory.sort(key=lambda r: (r.territory_id is None, -r.people, r.name or ""))
    return result


def need_pairs(need_ids: list[int]) -> Select[Any]:
    """The pairs (need id, need id): each need its own group (the API's `demand`)."""
    column = Need.id
    return sa_select(column.label("key"), column.label("need_id")).where(  # type: ignore[union-attr]
        column.in_(need_ids)  # type: ignore[union-attr]
    )


PUBLIC_TERRITORY_MIN = 3  # fewer people named a place: folded into « autres territoires »


def public_territories(demand: Demand) -> tuple[list[TerritoryPeople], int]:
    """The territory rows the public may see, and the people folded into « autres territoires
    ou non précisé ». A small count per place could point at a person (app.board.supports), so
    a territory named by fewer than PUBLIC_TERRITORY_MIN people is not named publicly."""
    shown, others = [], 0
    for row in demand.by_territory:
        if row.territory_id is not None and row.people >= PUBLIC_TERRITORY_MIN:
            shown.append(row)
        else:
            others += row.people
    return shown, others
