"""Who may do what on the board. Small functions, tested without HTTP (tests/board)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.accounts.models import Role, User, participates
from app.board.models import PUBLIC_NEED_STATUSES, Comment, Need
from app.core.db import utcnow

NEED_EDIT_GRACE = timedelta(minutes=30)
COMMENT_EDIT_WINDOW = timedelta(minutes=15)


def is_moderator(user: User | None) -> bool:
    return user is not None and user.has_role(Role.moderator)


def can_participate(user: User | None) -> bool:
    """Post, support, comment, report, follow, apply: a signed-in account that is not blocked
    and whose e-mail address is confirmed (a throwaway account cannot weigh on the board, and
    the site never writes to an address nobody confirmed)."""
    return user is not None and participates(
        user.email_verified_at, user.blocked_at, user.blocked_until, utcnow()
    )


def can_view_need(user: User | None, need: Need) -> bool:
    # Public needs for everyone; pending, hidden and rejected ones for their author and
    # moderators (with a banner saying why); soft-deleted ones for moderators only.
    if need.deleted_at is not None:
        return is_moderator(user)
    if need.status in PUBLIC_NEED_STATUSES:
        return True
    return is_moderator(user) or (user is not None and user.id == need.author_id)


def can_edit_need(
    user: User | None, need: Need, *, others_engaged: bool, now: datetime | None = None
) -> bool:
    """The author edits while nobody else has supported or commented, or within 30 minutes
    of posting (so a typo can be fixed even after the first « Moi aussi »)."""
    if user is None or user.id != need.author_id or need.deleted_at is not None:
        return False
    if user.is_blocked():
        return False
    return not others_engaged or (now or utcnow()) - need.created_at <= NEED_EDIT_GRACE


def can_delete_need(user: User | None, need: Need) -> bool:
    # Blocked authors too: deleting what they wrote is deleting their data, which a block
    # never takes away (like deleting their comments).
    return user is not None and user.id == need.author_id and need.deleted_at is None


def can_edit_comment(user: User | None, comment: Comment, now: datetime | None = None) -> bool:
    if user is None or user.id != comment.author_id or comment.deleted_at is not None:
        return False
    return not user.is_blocked() and (now or utcnow()) - comment.created_at <= COMMENT_EDIT_WINDOW


def can_delete_comment(user: User | None, comment: Comment) -> bool:
    return (
        user is not None
        and comment.deleted_at is None
        and (user.id == comment.author_id or is_moderator(user))
    )
