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

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.board.models import PUBLIC_NEED_STATUSES, Need
from app.web.errors import Conflict
from app.web.i18n import gettext as _

# Built once (a « Moi aussi » runs them under SQLite's one-writer lock: building and keying
# a statement each time was a fifth of a toggle's CPU), keyed by whether the need was deleted.
_LOCKS = {
    deleted: update(Need)
    .where(
        Need.id == bindparam("p_need"),  # type: ignore[arg-type]
        Need.status == bindparam("p_status"),  # type: ignore[arg-type]
        Need.deleted_at.is_not(None) if deleted else Need.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    .values(supports_count=Need.supports_count)
    for deleted in (False, True)
}
# The same lock for a caller that has not loaded the need: taken only if the need is public
# (app.board.queries.visible_needs), with its support count and slug.
_VISIBLE = (
    Need.id == bindparam("p_need"),  # type: ignore[arg-type]
    Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
    Need.deleted_at.is_(None),  # type: ignore[union-attr]
)
_LOCK_VISIBLE = (
    update(Need)
    .where(*_VISIBLE)
    .values(supports_count=Need.supports_count)
    .returning(Need.supports_count, Need.slug)  # type: ignore[arg-type]
)


def visible_lock_with(*columns: Any, join: Any, where: Iterable[Any]) -> Any:
    """PostgreSQL: lock_visible() and a read the writer needs in one round trip. A SELECT of
    the need's support count and slug and of `columns`, from the need's row and the table
    `join` (and those `where` links to it), taking the need's row (FOR UPDATE OF needs, which
    waits for a moderator's lock as the UPDATE does and re-checks the need's conditions on the
    row it gets). No row, and nothing taken, unless both find theirs. Bind `p_need` and what
    `where` binds. (SQLite may not return the other tables' columns from UPDATE … FROM, and
    has no row locks: there the caller reads, then lock_visible().)"""
    return (
        sa_select(Need.supports_count, Need.slug, *columns)
        .select_from(Need)
        .join(join, true())
        .where(*_VISIBLE, *where)
        .with_for_update(of=Need)  # type: ignore[arg-type]
    )


def visible_row_lock() -> Any:
    """PostgreSQL: lock_visible() as a SELECT of the need's id, support count and slug that
    takes its row (FOR UPDATE, waiting for a moderator's lock and re-checking the need's
    conditions on the row it gets), for a statement that writes after it in a CTE
    (app.board.support_writes.toggle_at_once). Bind `p_need`."""
    return (
        sa_select(Need.id, Need.supports_count, Need.slug).where(*_VISIBLE).with_for_update(of=Need)  # type: ignore[arg-type]
    )


def lock_unchanged(session: Session, need: Need) -> None:
    """Locks `need`'s row until commit, or Conflict when its status or deletion changed since
    the caller loaded it. Must come before the caller's first write on the need's rows."""
    if need.id is None:
        session.flush()  # created in this transaction: nobody else can see it yet
        return
    # On the session's connection, in its transaction; nothing the session holds changes.
    locked = session.connection().execute(
        _LOCKS[need.deleted_at is not None], {"p_need": need.id, "p_status": need.status}
    )
    if locked.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            _("Ce besoin vient de changer (fusionné, masqué ou supprimé) : rechargez la page.")
        )


def lock_visible(connection: Connection, need_id: int) -> tuple[int, str] | None:
    """Locks the need's row until commit if it is public, and gives its support count and
    slug; None (nothing locked) when it does not exist or is not public. On a Core connection,
    for a write that did not load the need (« Moi aussi » answered before routing)."""
    row = connection.execute(_LOCK_VISIBLE, {"p_need": need_id}).first()
    return (row[0], row[1]) if row is not None else None
