"""Writes that hang off a need (supports, follows) take the need's row first.

A moderator merging, hiding or deleting a need locks its row, moves its supports and follows,
then commits. A « Moi aussi » or « Suivre » read the need as public just before; without a lock
of its own its row could land on the source after the merge moved the others (lost from the
target) and its count update could hit a merged need. Taking the row first with an UPDATE that
changes nothing and re-checks what the request saw makes the second writer wait for the first
and then see the change: PostgreSQL re-evaluates the WHERE on the committed row under READ
COMMITTED; SQLite runs one writer at a time anyway.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from app.board.models import Need
from app.web.errors import Conflict
from app.web.i18n import gettext as _


def lock_unchanged(session: Session, need: Need) -> None:
    """Locks `need`'s row until commit, or Conflict when its status or deletion changed since
    the caller loaded it. Must come before the caller's first write on the need's rows."""
    if need.id is None:
        session.flush()  # created in this transaction: nobody else can see it yet
        return
    deleted = Need.deleted_at.is_(None) if need.deleted_at is None else Need.deleted_at.is_not(None)  # type: ignore[union-attr]
    locked = session.execute(
        update(Need)
        .where(Need.id == need.id, Need.status == need.status, deleted)  # type: ignore[arg-type]
        .values(supports_count=Need.supports_count)
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            _("Ce besoin vient de changer (fusionné, masqué ou supprimé) : rechargez la page.")
        )
