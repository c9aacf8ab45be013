"""Alerts for the team (issue 17): what waits for a moderator or for the staff reaches them as
a notification of the kind `team`, in the app and by e-mail — at once or in the daily digest,
each person's choice on their notifications page, like every other kind (app/board/
notifications.py; without a choice, the digest: a busy day must not fill a moderator's inbox).

- moderators (and staff and admins, who can do everything a moderator can) are told of a need
  or a comment waiting for moderation (held by the moderation mode or a blocked word) and of
  every report;
- staff and admins are told of every carrier application.

Called inside the transaction of the change, so a rolled-back write alerts nobody. The person
who caused it is never told (a moderator reporting a comment). Blocked accounts are not told.
The header's « Modération » link carries the count of what waits (app/main.py, team_count).
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts.models import Role, User, blocked_now
from app.board.models import Comment, Need, NotificationKind
from app.board.notifications import Message, notify
from app.core.db import utcnow
from app.web.i18n import gettext as _


def team_ids(session: Session, minimum: Role) -> list[int]:
    """The accounts of `minimum` role or above, not blocked (one read; a team is small)."""
    roles = [role.value for role in Role if role.rank >= minimum.rank]
    now = utcnow()
    rows = session.exec(
        select(User.id, User.blocked_at, User.blocked_until).where(
            User.role.in_(roles)  # type: ignore[attr-defined]
        )
    ).all()
    return [user_id for user_id, since, until in rows if not blocked_now(since, until, now)]


def _alert(
    session: Session,
    minimum: Role,
    message: Message,
    *,
    need: Need | None = None,
    comment: Comment | None = None,
    actor: User | None = None,
    kind: NotificationKind = NotificationKind.team,
) -> None:
    notify(
        session,
        kind,
        team_ids(session, minimum),
        need=need,
        comment=comment,
        actor=actor,
        message=message,
    )


def need_waiting(session: Session, need: Need, author: User | None) -> None:
    """A need was posted, or edited, into the moderation queue."""
    _alert(
        session,
        Role.moderator,
        lambda: _("Un besoin attend la modération : « %(title)s »", title=need.title),
        need=need,
        actor=author,
    )


def comment_waiting(session: Session, need: Need, comment: Comment, author: User | None) -> None:
    """A comment was posted, or edited, into the moderation queue."""
    _alert(
        session,
        Role.moderator,
        lambda: _("Un commentaire attend la modération sur « %(title)s »", title=need.title),
        need=need,
        comment=comment,
        actor=author,
    )


def reported(
    session: Session,
    reporter: User,
    *,
    need: Need | None = None,
    comment: Comment | None = None,
    account_name: str | None = None,
) -> None:
    """A report was filed on a need, a comment (with its need) or an account."""
    if need is not None and comment is not None:

        def message() -> str:
            return _("Un commentaire sur « %(title)s » a été signalé", title=need.title)
    elif need is not None:

        def message() -> str:
            return _("Le besoin « %(title)s » a été signalé", title=need.title)
    else:

        def message() -> str:
            return _("Le compte « %(name)s » a été signalé", name=account_name or "?")

    _alert(session, Role.moderator, message, need=need, comment=comment, actor=reporter)


def carrier_applied(session: Session, applicant: User, idea_title: str) -> None:
    """Someone applied to carry an idea's project."""
    _alert(
        session,
        Role.staff,
        lambda: _("Nouvelle candidature pour porter « %(title)s »", title=idea_title),
        actor=applicant,
        kind=NotificationKind.applications,
    )
