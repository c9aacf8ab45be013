"""Following a theme, a territory or an idea (issue 17, item 5): told of new public needs there.

One row per account, kind and target (unique constraint); writes are idempotent like need
follows (app/board/follows.py): following twice, or two requests racing, leave one row, and
unfollowing what is not followed does nothing. Following takes the « follow » rate limit and an
account that may participate; unfollowing is always allowed (it only reduces what one receives).

The board knows themes and territories; ideas are the pipeline's (app/pipeline/idea_follows.py
checks the idea, then calls `follow_topic` here, and tells an idea's followers of its moves).

Notifications (kind « topics », a daily digest unless the person chooses otherwise): when a need
becomes public — published directly (NeedPublished) or by a moderator (NeedStatusChanged from
pending or refused) — the followers of its theme and its territory are told, once each even if
they follow both, never its author. Their ids come from one statement.
"""

from __future__ import annotations

from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.events import NeedPublished, NeedStatusChanged
from app.board.models import (
    PUBLIC_NEED_STATUSES,
    Need,
    NeedStatus,
    NotificationKind,
    Territory,
    Theme,
    TopicFollow,
    TopicKind,
)
from app.board.notifications import notify
from app.board.service import ensure_can_participate
from app.core import events
from app.core.db import utcnow
from app.core.ratelimit import check_rate
from app.core.settings import Settings
from app.web.errors import NotFound
from app.web.i18n import gettext as _

_CATEGORIES: dict[str, type[Theme] | type[Territory]] = {
    TopicKind.theme.value: Theme,
    TopicKind.territory.value: Territory,
}


def load_category(session: Session, kind: str, target_id: int) -> Theme | Territory:
    """The theme or territory one may follow (not archived), or NotFound in plain French."""
    model = _CATEGORIES.get(kind)
    row = session.get(model, target_id) if model is not None else None
    if row is None or row.archived_at is not None:
        if kind == TopicKind.territory.value:
            raise NotFound(_("Ce territoire n'existe pas ou n'est plus proposé."))
        raise NotFound(_("Ce thème n'existe pas ou n'est plus proposé."))
    return row


def is_following_topic(session: Session, user: User | None, kind: str, target_id: int) -> bool:
    """One indexed lookup; False for visitors."""
    if user is None or user.id is None:
        return False
    found = session.exec(
        select(TopicFollow.id).where(
            TopicFollow.user_id == user.id,
            TopicFollow.kind == kind,
            TopicFollow.target_id == target_id,
        )
    ).first()
    return found is not None


def follow_topic(
    session: Session,
    user: User,
    kind: str,
    target_id: int,
    *,
    ip: str = "",
    settings: Settings | None = None,
) -> None:
    """Follows a theme, territory or idea the caller has checked exists and may be followed.
    Idempotent; refuses an account that may not participate; rate-limited. Commits."""
    ensure_can_participate(user)
    if is_following_topic(session, user, kind, target_id):
        return
    settings = settings or session.info.get("settings") or Settings()
    check_rate(session, "follow", user_id=user.id, ip=ip, enabled=settings.rate_limits == "on")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.exec(  # type: ignore[call-overload]
        insert(TopicFollow.__table__)  # type: ignore[attr-defined]
        .values(user_id=user.id, kind=kind, target_id=target_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "target_id"])
    )
    session.commit()


def unfollow_topic(session: Session, user: User, kind: str, target_id: int) -> None:
    """Stops following. Idempotent, allowed to every account. Commits."""
    session.exec(  # type: ignore[call-overload]
        delete(TopicFollow).where(
            TopicFollow.user_id == user.id,
            TopicFollow.kind == kind,
            TopicFollow.target_id == target_id,
        )
    )
    session.commit()


# --- notifications -------------------------------------------------------------------------------


def notify_need_followers(session: Session, need: Need) -> list[int]:
    """Tells the followers of the need's theme and territory that it is now public (kind
    « topics »), once each, never its author. One statement reads them. Returns their ids."""
    targets = [
        (TopicFollow.kind == kind) & (TopicFollow.target_id == target)
        for kind, target in (
            (TopicKind.theme.value, need.theme_id),
            (TopicKind.territory.value, need.territory_id),
        )
        if target is not None
    ]
    if not targets:
        return []
    statement = select(TopicFollow.user_id).distinct().where(or_(*targets))
    if need.author_id is not None:
        statement = statement.where(TopicFollow.user_id != need.author_id)
    people = sorted(session.exec(statement))
    notify(session, NotificationKind.topics, people, need=need)
    return people


def _on_need_published(session: Session, event: NeedPublished) -> None:
    if event.need.status in PUBLIC_NEED_STATUSES and event.need.deleted_at is None:
        notify_need_followers(session, event.need)


def _on_need_status_changed(session: Session, event: NeedStatusChanged) -> None:
    # Public for the first time: from pending, or refused then restored (as the webhooks say).
    need = event.need
    if (
        event.previous_status in (NeedStatus.pending.value, NeedStatus.rejected.value)
        and need.status in PUBLIC_NEED_STATUSES
        and need.deleted_at is None
        and not event.was_deleted
    ):
        notify_need_followers(session, need)


def subscribe() -> None:
    """At start-up (app/ops/wiring.py); harmless if repeated."""
    events.subscribe(NeedPublished, _on_need_published)
    events.subscribe(NeedStatusChanged, _on_need_status_changed)
