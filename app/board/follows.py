"""Following a need: who gets told about new comments on it.

A follow is one row per account and need (unique constraint). Writes are idempotent: following
twice, or two requests racing, leave one row; unfollowing what is not followed does nothing.
Authors and commenters follow automatically (the need and comment services call `add_follow`).
"""

from __future__ import annotations

from sqlalchemy import delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.locks import lock_unchanged
from app.board.models import Follow, Need
from app.board.permissions import can_participate
from app.board.queries import get_visible_need
from app.core.db import utcnow
from app.core.ratelimit import check_rate
from app.core.settings import Settings


def _settings(session: Session, settings: Settings | None) -> Settings:
    return settings or session.info.get("settings") or Settings()


def add_follow(session: Session, need_id: int, user_id: int) -> bool:
    """Adds the follow row if missing, inside the caller's transaction (no commit). Returns True
    when a row was created. INSERT … ON CONFLICT DO NOTHING on both engines, so concurrent
    requests never fail on the unique constraint."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Follow.__table__)  # type: ignore[attr-defined]
        .values(need_id=need_id, user_id=user_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["need_id", "user_id"])
        .returning(Follow.__table__.c.id)  # type: ignore[attr-defined]
    )
    return session.exec(statement).first() is not None  # type: ignore[call-overload]


def follow(
    session: Session,
    need: Need | int,
    user: User,
    *,
    commit: bool = True,
    ip: str = "",
    settings: Settings | None = None,
) -> None:
    """Follows a need. Idempotent.

    commit=True is the person pressing « Suivre »: the need must be public, the account able to
    participate, and the follow rate limit applies; commits. commit=False is the automatic
    follow of an author or a commenter, inside that write's own transaction: the caller has
    already checked everything (a pending need can be followed by its author), only the row is
    added."""
    if not commit:
        add_follow(session, need if isinstance(need, int) else need.id, user.id)  # type: ignore[arg-type]
        return
    need = get_visible_need(session, need if isinstance(need, int) else need.id)  # type: ignore[arg-type]
    if not can_participate(user):
        from app.board.service import ensure_can_participate

        ensure_can_participate(user)  # raises, with the reason and the end date
    if is_following(session, need, user):
        return
    settings = _settings(session, settings)
    check_rate(session, "follow", user_id=user.id, ip=ip, enabled=settings.rate_limits == "on")
    lock_unchanged(session, need)  # a merge moving the followers waits, or we see it
    add_follow(session, need.id, user.id)  # type: ignore[arg-type]
    session.commit()


def unfollow(session: Session, need: Need | int, user: User) -> None:
    """Stops following. Idempotent. Blocked accounts may too: it only ever reduces what they
    receive. A non-public need answers 404 like everywhere else. Commits."""
    need = get_visible_need(session, need if isinstance(need, int) else need.id)  # type: ignore[arg-type]
    session.exec(  # type: ignore[call-overload]
        delete(Follow).where(Follow.need_id == need.id, Follow.user_id == user.id)
    )
    session.commit()


def is_following(session: Session, need: Need, user: User | None) -> bool:
    """One indexed lookup; False for visitors."""
    if user is None or user.id is None:
        return False
    found = session.exec(
        select(Follow.id).where(Follow.need_id == need.id, Follow.user_id == user.id)
    ).first()
    return found is not None


def follower_ids(session: Session, need_id: int) -> list[int]:
    return list(session.exec(select(Follow.user_id).where(Follow.need_id == need_id)))


def followers_count(session: Session, need: Need) -> int:
    return session.exec(select(func.count()).where(Follow.need_id == need.id)).one()
