"""Read paths of the board. `visible_needs()` is the only public read path for needs: every
public surface (board, need page, search, similar needs, feeds, API, embed) starts from it, so a
pending, hidden, rejected, merged or deleted need cannot leak by a forgotten filter."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.board.models import PUBLIC_NEED_STATUSES, Need
from app.board.permissions import can_view_need
from app.web.errors import NotFound
from app.web.i18n import gettext as _


def visible_needs() -> SelectOfScalar[Need]:
    return select(Need).where(
        Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
    )


def get_visible_need(session: Session, need_id: int) -> Need:
    """A public need, or NotFound (404) — for writes that only public needs accept."""
    need = session.exec(visible_needs().where(Need.id == need_id)).first()
    if need is None:
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need


def get_need_for(session: Session, need_id: int, user: User | None) -> Need:
    """A need as `user` may see it (authors and moderators also see non-public ones)."""
    need = session.get(Need, need_id)
    if need is None or not can_view_need(user, need):
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need
