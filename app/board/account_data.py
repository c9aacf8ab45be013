"""The board's part of a person's own data (app/accounts/data.py): what the export lists of it,
and what erasing the account erases — their needs and comments deleted as if they had deleted
each one (gone from every public surface and partners' webhooks, kept for the moderation
history), their « Moi aussi » withdrawn (counts and trending recomputed). Registered at
start-up by app/ops/wiring.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.accounts.data import exported_rows
from app.accounts.events import AccountErasing
from app.board.comments import change_comment_count
from app.board.events import NeedStatusChanged
from app.board.models import (
    Comment,
    CommentStatus,
    Follow,
    Need,
    Notification,
    NotificationPreference,
    Report,
    Support,
    TopicFollow,
)
from app.board.supports import remove_support
from app.core import events


def contributions(session: Session, uid: int) -> dict[str, list[dict[str, Any]]]:
    """The export's sections of what the person posted, supported, followed and reported."""
    return {
        "needs": exported_rows(session, Need, Need.author_id == uid),
        "comments": exported_rows(session, Comment, Comment.author_id == uid),
        "supports": exported_rows(session, Support, Support.user_id == uid),
        "follows": exported_rows(session, Follow, Follow.user_id == uid),
        "topic_follows": exported_rows(session, TopicFollow, TopicFollow.user_id == uid),
        "reports_made": exported_rows(session, Report, Report.reporter_id == uid),
    }


def notifications(session: Session, uid: int) -> dict[str, list[dict[str, Any]]]:
    """The export's sections of the person's notifications and their settings."""
    return {
        "notifications": exported_rows(session, Notification, Notification.user_id == uid),
        "notification_preferences": exported_rows(
            session, NotificationPreference, NotificationPreference.user_id == uid
        ),
    }


def erase_contributions(session: Session, event: AccountErasing) -> None:
    """Deletes the person's needs and comments and withdraws their supports, in the account's
    deletion (AccountErasing), counting each in `event.erased`."""
    user, uid, now = event.user, event.user.id, event.at
    needs = list(
        session.exec(select(Need).where(Need.author_id == uid, Need.deleted_at.is_(None)))  # type: ignore[union-attr]
    )
    for need in needs:
        need.deleted_at = now
        session.add(need)
        events.announce(session, NeedStatusChanged(need, need.status))

    # Comments: each need's count drops by its published comments that go.
    counted = session.exec(
        select(Comment.need_id, func.count())
        .where(
            Comment.author_id == uid,
            Comment.deleted_at.is_(None),  # type: ignore[union-attr]
            Comment.status == CommentStatus.published.value,
        )
        .group_by(Comment.need_id)
    ).all()
    comments = session.exec(
        update(Comment)  # type: ignore[call-overload]
        .where(Comment.author_id == uid, Comment.deleted_at.is_(None))  # type: ignore[union-attr]
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    for need_id, count in counted:
        change_comment_count(session, need_id, -count)

    supported = session.exec(
        select(Need).join(Support, Support.need_id == Need.id).where(Support.user_id == uid)  # type: ignore[arg-type]
    ).all()
    for need in supported:
        remove_support(session, need, user, commit=False)
    event.erased.update(needs=len(needs), comments=comments, supports=len(supported))
