"""Reading the offline collections of needs (issue 17): the people staff met offline about a
need — at a public meeting, a drop-in, a survey, a workshop — recorded with their number, how,
when and where (app.board.models.OfflineCollection; staff write them in
app.moderation.collections).

The demand's `offline` figure (app.board.demand, app.board.supports) sums them in the
statements that count supports; this module lists them, for the staff need page and the demand
dossier of an idea: `collections_for_needs(session, need_ids)` reads those of many needs in one
statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.board.models import COLLECTION_METHOD_LABELS, OfflineCollection, Territory
from app.web.i18n import gettext as _


@dataclass(frozen=True)
class CollectionRow:
    """One collection as pages show it (names resolved, the method worded)."""

    id: int
    need_id: int
    people: int
    method: str
    collected_on: date
    place: str
    territory_id: int | None
    territory_name: str | None
    territory_name_en: str | None
    note: str
    recorded_by: str | None  # the staff member's display name, None once the account is gone
    created_at: datetime
    updated_at: datetime

    @property
    def method_label(self) -> str:
        return method_label(self.method)


def method_label(method: str) -> str:
    """« Réunion publique »… in the current language (an unknown code is shown as is)."""
    label = COLLECTION_METHOD_LABELS.get(method)
    return _(label) if label is not None else method


def collections_for_needs(
    session: Session, need_ids: Iterable[int]
) -> dict[int, list[CollectionRow]]:
    """need id → its collections, most recent first (by date, then by entry), in one
    statement; needs without any are absent. The caller decides who may see them (the figures
    are public, the notes and who recorded them are for the team)."""
    ids = sorted(set(need_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(OfflineCollection, Territory.name, Territory.name_en, User.display_name)
        .outerjoin(Territory, Territory.id == OfflineCollection.territory_id)  # type: ignore[arg-type]
        .outerjoin(User, User.id == OfflineCollection.recorded_by_id)  # type: ignore[arg-type]
        .where(col(OfflineCollection.need_id).in_(ids))
        .order_by(
            col(OfflineCollection.need_id),
            col(OfflineCollection.collected_on).desc(),
            col(OfflineCollection.id).desc(),
        )
    ).all()
    result: dict[int, list[CollectionRow]] = {}
    for collection, name, name_en, recorded_by in rows:
        result.setdefault(collection.need_id, []).append(
            CollectionRow(
                id=collection.id,  # type: ignore[arg-type]
                need_id=collection.need_id,
                people=collection.people,
                method=collection.method,
                collected_on=collection.collected_on,
                place=collection.place,
                territory_id=collection.territory_id,
                territory_name=name,
                territory_name_en=name_en,
                note=collection.note,
                recorded_by=recorded_by,
                created_at=collection.created_at,
                updated_at=collection.updated_at,
            )
        )
    return result
