"""Notifications: the in-app list, e-mail preferences per kind and signed unsubscribe links
(the daily digest is app/board/digest.py).

A write that concerns other people (a comment, later a moderation decision or a pipeline move)
calls `notify()` inside its own transaction: one Notification row per recipient and, for those
whose preference for that kind is `immediate`, an e-mail queued in the same transaction (the
worker sends it after commit, so a rolled-back write e-mails nobody). `daily` notifications wait
for `send_daily_digest()`, which the background job runs every hour: a person gets one e-mail
grouping all their waiting daily notifications once the oldest of them is 24 hours old — so at
most one digest a day, with no state kept in memory, and safe with several workers (rows are
claimed with a conditional UPDATE before the e-mail is queued).

What a notification says is worded when it is shown (in the reader's language), from the need
and comment it points to: a need that is no longer public for that person is not named, and a
deleted or hidden comment is not quoted, in the list as in e-mails.

Every notification e-mail carries a signed one-click unsubscribe link (app/board/unsubscribe.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature
from sqlalchemy import bindparam, func, literal_column, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from app.accounts.models import Role, User, blocked_now
from app.accounts.service import of_valid_session
from app.accounts.tokens import hash_secret
from app.board.models import (
    Comment,
    CommentStatus,
    EmailMode,
    Need,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from app.board.permissions import can_view_need, is_moderator
from app.board.unsubscribe import read_link, unsubscribe_path
from app.core.db import utcnow
from app.core.settings import Settings
from app.core.text import excerpt
from app.mail.service import queue_mail
from app.web.content_version import TABLE as CONTENT_VERSION_TABLE
from app.web.errors import Invalid, NotFound
from app.web.i18n import SOURCE_LOCALE, use_locale
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.urls import need_url

log = logging.getLogger(__name__)

KINDS = tuple(k.value for k in NotificationKind)
MODES = tuple(m.value for m in EmailMode)

# Without a saved choice: what concerns me directly arrives at once, the slow pipeline news in
# a daily digest.
DEFAULT_EMAIL_MODES: dict[str, str] = {
    NotificationKind.reply.value: EmailMode.immediate.value,
    NotificationKind.comment.value: EmailMode.immediate.value,
    NotificationKind.moderation.value: EmailMode.immediate.value,
    NotificationKind.pipeline.value: EmailMode.daily.value,
    # The team's alerts: a daily summary unless the person asks for each one (issue 17).
    NotificationKind.team.value: EmailMode.daily.value,
    NotificationKind.applications.value: EmailMode.daily.value,
    NotificationKind.topics.value: EmailMode.daily.value,
}
# Kinds offered to team members only (app/board/team_alerts.py), with the least role.
TEAM_KINDS = {
    NotificationKind.team.value: Role.moderator,
    NotificationKind.applications.value: Role.staff,
}

KIND_LABELS = {
    NotificationKind.reply.value: N_("Réponses à mes commentaires"),
    NotificationKind.comment.value: N_("Nouveaux commentaires sur les besoins que je suis"),
    NotificationKind.moderation.value: N_("Décisions de modération sur mes contributions"),
    NotificationKind.pipeline.value: N_("Avancement des besoins que je suis vers une idée"),
    NotificationKind.team.value: N_("Équipe : besoins et commentaires à modérer, signalements"),
    NotificationKind.applications.value: N_("Équipe : candidatures de porteurs de projet"),
    NotificationKind.topics.value: N_(
        "Nouveaux besoins dans les thèmes, territoires et idées que je suis"
    ),
}
MODE_LABELS = {
    EmailMode.none.value: N_("Pas d'e-mail"),
    EmailMode.immediate.value: N_("Un e-mail à chaque fois"),
    EmailMode.daily.value: N_("Un résumé par jour"),
}
SUBJECTS = {
    NotificationKind.reply.value: N_("Nouvelle réponse à votre commentaire"),
    NotificationKind.comment.value: N_("Nouveau commentaire sur un besoin que vous suivez"),
    NotificationKind.moderation.value: N_("Une décision de modération vous concerne"),
    NotificationKind.pipeline.value: N_("Du nouveau sur un besoin que vous suivez"),
    NotificationKind.team.value: N_("À modérer : un contenu attend l'équipe"),
    NotificationKind.applications.value: N_("Une candidature de porteur de projet"),
    NotificationKind.topics.value: N_("Du nouveau dans ce que vous suivez"),
}
# A pipeline notification about no need at all (a carrier application's decision).
SUBJECT_WITHOUT_NEED = N_("Du nouveau de la fabrique à initiatives")

# The digest's own unsubscribe link: every kind currently in daily mode stops.
DIGEST = "digest"
PAGE_SIZE = 30
EXCERPT_LENGTH = 160

_INVALID_UNSUBSCRIBE = N_(
    "Ce lien de désinscription n'est pas valable. Vous pouvez choisir vos e-mails dans les "
    "réglages de votre compte."
)


def _settings(session: Session, settings: Settings | None = None) -> Settings:
    return settings or session.info.get("settings") or Settings()


# --- what a notification says --------------------------------------------------------------------


@dataclass
class NotificationView:
    """A notification as its recipient may see it. `need_title` and `url` are None when the
    need is no longer visible to them; `excerpt` is empty when the comment is gone."""

    id: int | None
    kind: str
    created_at: datetime
    read: bool
    actor_name: str | None
    need_title: str | None
    url: str | None
    excerpt: str
    message: str
    # False for a notification about no need at all (a carrier application's decision): its
    # message says everything, and it must not read as « a need that is no longer visible ».
    about_need: bool = True

    @property
    def sentence(self) -> str:
        """Worded when read, in the reader's language (the row stores no sentence)."""
        if self.kind in TEAM_KINDS or (self.kind == "topics" and not self.about_need):
            return self.message  # worded when sent, in the recipient's language
        if not self.about_need:
            if self.kind == NotificationKind.moderation.value:
                return _("Décision de l'équipe de modération")
            return _("Message de la fabrique à initiatives")
        title = (
            _("« %(title)s »", title=self.need_title)
            if self.need_title is not None
            else _("un besoin qui n'est plus visible")
        )
        actor = self.actor_name or _("Un compte supprimé")
        if self.kind == NotificationKind.reply.value:
            return _(
                "%(actor)s a répondu à votre commentaire sur %(title)s", actor=actor, title=title
            )
        if self.kind == NotificationKind.comment.value:
            return _("%(actor)s a commenté %(title)s", actor=actor, title=title)
        if self.kind == NotificationKind.moderation.value:
            return _("Décision de modération concernant %(title)s", title=title)
        if self.kind == NotificationKind.pipeline.value:
            return _("Du nouveau dans le parcours de %(title)s", title=title)
        if self.kind == NotificationKind.topics.value:
            return _("Nouveau besoin dans ce que vous suivez : %(title)s", title=title)
        return title


def _view(
    recipient: User,
    notification: Notification,
    need: Need | None,
    comment: Comment | None,
    actor: User | None,
) -> NotificationView:
    need_visible = need is not None and can_view_need(recipient, need)
    comment_visible = (
        comment is not None
        and comment.deleted_at is None
        and (
            comment.status == CommentStatus.published.value
            or comment.author_id == recipient.id
            or is_moderator(recipient)
        )
    )
    url = None
    message = notification.message
    if notification.kind in TEAM_KINDS:
        # For the team's eyes: someone who has left the team since sees neither the title it
        # names nor the link.
        need_visible = comment_visible = False
        if recipient.has_role(TEAM_KINDS[notification.kind]):
            url = _team_url(notification)
        else:
            message = _("Alerte réservée à l'équipe de la fabrique")
    elif need_visible:
        assert need is not None
        url = need_url(need) + (f"#comment-{comment.id}" if comment_visible and comment else "")
    return NotificationView(
        id=notification.id,
        kind=notification.kind,
        created_at=notification.created_at,
        read=notification.read_at is not None,
        actor_name=actor.display_name if actor else None,
        need_title=need.title if need_visible and need else None,
        url=url,
        excerpt=excerpt(comment.body, EXCERPT_LENGTH)
        if comment_visible and comment and need_visible
        else "",
        message=message,
        about_need=notification.need_id is not None,
    )


def _team_url(notification: Notification) -> str:
    """Where a team alert leads: the item in the moderation pages."""
    if notification.kind == NotificationKind.applications.value:
        return "/moderation/applications"
    if notification.comment_id is not None:
        return "/moderation/queue?kind=comment"
    if notification.need_id is not None:
        return f"/moderation/needs/{notification.need_id}"
    return "/moderation/queue?kind=account"


def notification_views(
    session: Session, recipient: User, *where: Any, limit: int
) -> list[NotificationView]:
    """One query: the notifications with their need, comment and actor."""
    actor = aliased(User)
    statement = (
        select(Notification, Need, Comment, actor)
        .outerjoin(Need, Need.id == Notification.need_id)  # type: ignore[arg-type]
        .outerjoin(Comment, Comment.id == Notification.comment_id)  # type: ignore[arg-type]
        .outerjoin(actor, actor.id == Notification.actor_id)  # type: ignore[arg-type]
        .where(Notification.user_id == recipient.id, *where)
        .order_by(Notification.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return [_view(recipient, *row) for row in session.exec(statement)]


# --- creating notifications ----------------------------------------------------------------------


# A message is written in its recipient's language: callers pass a function that builds it
# with `_()` (called once per language among the recipients), or a plain string.
Message = str | Callable[[], str]

# An idea moved several times in a row (staff filling in its study, then its call): one
# notification per person and need, brought up to date, rather than one per move; its e-mail
# goes once in that time (the in-app line always shows the latest move).
COALESCE_WINDOW = timedelta(minutes=15)


def _in_languages(message: Message, users: Iterable[User]) -> dict[str, str]:
    if not callable(message):
        return {}
    texts: dict[str, str] = {}
    for user in users:
        locale = user.locale or SOURCE_LOCALE
        if locale not in texts:
            with use_locale(locale):
                texts[locale] = message()
    return texts


def _recent_pipeline_rows(
    session: Session, ids: list[int], need_id: int, since: datetime
) -> dict[int, Notification]:
    rows = session.exec(
        select(Notification)
        .where(
            Notification.user_id.in_(ids),  # type: ignore[attr-defined]
            Notification.kind == NotificationKind.pipeline.value,
            Notification.need_id == need_id,
            Notification.read_at.is_(None),  # type: ignore[union-attr]
            Notification.created_at > since,  # type: ignore[operator]
        )
        .order_by(Notification.id)  # type: ignore[arg-type]
    )
    return {row.user_id: row for row in rows}


def notify(
    session: Session,
    kind: NotificationKind | str,
    user_ids: Iterable[int | None],
    *,
    need: Need | None = None,
    comment: Comment | None = None,
    actor: User | None = None,
    message: Message = "",
    settings: Settings | None = None,
) -> list[Notification]:
    """Notifies these accounts (never the actor) inside the caller's transaction, each in their
    own language; queues the e-mails of those who want them at once. Does not commit. Two reads
    whatever the number of recipients (their accounts, their preferences), a third for the
    pipeline's moves (see COALESCE_WINDOW); the rows go out with the caller's flush."""
    kind = NotificationKind(kind).value
    actor_id = actor.id if actor else None
    ids = list(dict.fromkeys(i for i in user_ids if i is not None and i != actor_id))
    if not ids:
        return []
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(ids)))}  # type: ignore[union-attr]
    modes = email_modes(session, ids, kind)
    settings = _settings(session, settings)
    now = utcnow()
    texts = _in_languages(message, users.values())
    recent: dict[int, Notification] = {}
    if kind == NotificationKind.pipeline.value and need is not None and need.id is not None:
        recent = _recent_pipeline_rows(session, ids, need.id, now - COALESCE_WINDOW)
    created = []
    for user_id in ids:
        recipient = users.get(user_id)
        if recipient is None:
            continue
        text = texts[recipient.locale or SOURCE_LOCALE] if texts else str(message)
        notification = recent.get(user_id)
        mailed_lately = notification is not None and notification.emailed_at is not None
        if notification is not None:
            notification.message = text[:300]
            notification.actor_id = actor_id
            notification.created_at = now
        else:
            notification = Notification(
                user_id=user_id,
                kind=kind,
                need_id=need.id if need else None,
                comment_id=comment.id if comment else None,
                actor_id=actor_id,
                message=text[:300],
                created_at=now,
            )
        if (
            modes[user_id] == EmailMode.immediate.value
            and can_receive_email(recipient)
            and not mailed_lately
        ):
            view = _view(recipient, notification, need, comment, actor)
            queue_mail(
                session,
                to=recipient.email,
                subject=SUBJECT_WITHOUT_NEED
                if need is None and kind == NotificationKind.pipeline.value
                else SUBJECTS[kind],
                template="mail/notification.txt",
                context={
                    "user": recipient,
                    "item": view,
                    "unsubscribe_path": unsubscribe_path(settings, user_id, kind),
                },
                locale=recipient.locale,
            )
            notification.emailed_at = now
        session.add(notification)
        created.append(notification)
    return created


def can_receive_email(user: User) -> bool:
    # Only confirmed addresses: an account opened with someone else's address must not turn
    # following needs into a way of filling that person's inbox.
    return user.email_verified_at is not None


# --- reading and marking -------------------------------------------------------------------------


def unread_count(session: Session, user: User | int | None) -> int:
    """For the header: one COUNT served by ix_notifications_user_id_read_at_id. Takes a user
    or a user id (the header passes the id, see app.main.unread_notifications)."""
    user_id = user if isinstance(user, int) or user is None else user.id
    if user_id is None:
        return 0
    return int(session.connection().execute(_UNREAD, {"p_user": user_id}).scalar_one())


# A browser session's account with the header's unread count and the content version, in one
# statement: what a signed-in page rendered once per shape needs (app/web/personal.py), one
# round trip instead of three on PostgreSQL.
_HEADER_COLUMNS = (
    sa_select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))  # type: ignore[union-attr, arg-type]
    .scalar_subquery(),
    literal_column(f"(SELECT version FROM {CONTENT_VERSION_TABLE} WHERE id = 1)"),
)
_SIGNED_IN = of_valid_session(select(User, *_HEADER_COLUMNS))


def signed_in_with_header(session: Session, raw: str) -> tuple[User, int, int | None] | None:
    """(the account of the browser session `raw` if still valid, its unread count, the content
    version), or None."""
    row = session.exec(
        _SIGNED_IN,  # type: ignore[call-overload]
        params={"p_hash": hash_secret(raw), "p_now": utcnow()},
    ).first()
    if row is None:
        return None
    user, unread, version = row
    return user, int(unread), (int(version) if version is not None else None)


# The same, as columns only, for the way in before routing (app/web/personal_path.py): the
# person's shape, not an ORM object.
_SIGNED_IN_SHAPE = of_valid_session(
    sa_select(
        User.id,  # type: ignore[arg-type]
        User.role,  # type: ignore[arg-type]
        User.email_verified_at,  # type: ignore[arg-type]
        User.blocked_at,  # type: ignore[arg-type]
        User.blocked_until,  # type: ignore[arg-type]
        *_HEADER_COLUMNS,
    )
)


_WITH_PAGE_READS: dict[Hashable, Any] = {}


def signed_in_shape(
    connection: Connection, raw: str, reads: Any = None
) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """((id, role, email_verified_at, blocked now?, unread count, content version), the values
    of `reads`) for the account of the browser session `raw` if still valid, or None: one
    statement, the page's own reads (app.web.personal_path.Reads) in it as scalar subqueries
    correlated to the person's id."""
    statement = _SIGNED_IN_SHAPE
    params: dict[str, Any] = {}
    if reads is not None:
        statement = _WITH_PAGE_READS.get(reads.key)
        if statement is None:
            # Built once per kind of read (a few: the board's by number of needs, the need's).
            if len(_WITH_PAGE_READS) > 256:
                _WITH_PAGE_READS.clear()
            statement = _SIGNED_IN_SHAPE.add_columns(*reads.build(User.id))
            _WITH_PAGE_READS[reads.key] = statement
        params.update(reads.params)
    now = utcnow()
    params.update(p_hash=hash_secret(raw), p_now=now)
    row = connection.execute(statement, params).first()
    if row is None:
        return None
    user_id, role, verified_at, blocked_at, blocked_until, unread, version = row[:7]
    person = (
        user_id,
        role,
        verified_at,
        blocked_now(blocked_at, blocked_until, now),
        int(unread),
        int(version) if version is not None else None,
    )
    return person, tuple(row[7:])


# Every signed-in page asks: built once, run on the session's connection.
_UNREAD = (
    sa_select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == bindparam("p_user"), Notification.read_at.is_(None))  # type: ignore[union-attr, arg-type]
)


def list_notifications(
    session: Session, user: User, *, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[NotificationView], int | None]:
    """Newest first, `limit` per page; returns the items and the `before` id of the next page
    (None on the last page). One query."""
    where = [Notification.id < before] if before else []  # type: ignore[operator]
    items = notification_views(session, user, *where, limit=limit + 1)
    if len(items) > limit:
        return items[:limit], items[limit - 1].id
    return items, None


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Marks one notification (or all of them) as read. Only the person's own. Commits."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))  # type: ignore[union-attr]
        .values(read_at=utcnow())
    )
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    result = session.exec(statement)  # type: ignore[call-overload]
    session.commit()
    return result.rowcount or 0


# --- preferences ---------------------------------------------------------------------------------


def kinds_for(user: User) -> tuple[str, ...]:
    """The kinds this person can receive: the team's alerts for team members only."""
    return tuple(k for k in KINDS if k not in TEAM_KINDS or user.has_role(TEAM_KINDS[k]))


def preferences(session: Session, user: User) -> dict[str, str]:
    """kind → e-mail mode, defaults filled in, for the kinds this person can receive."""
    mine = kinds_for(user)
    modes = {k: m for k, m in DEFAULT_EMAIL_MODES.items() if k in mine}
    rows = session.exec(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)
    )
    for row in rows:
        if row.kind in modes and row.email_mode in MODES:
            modes[row.kind] = row.email_mode
    return modes


def email_modes(session: Session, user_ids: list[int], kind: str) -> dict[int, str]:
    """Each account's e-mail mode for one kind (one query)."""
    modes = dict.fromkeys(user_ids, DEFAULT_EMAIL_MODES[kind])
    rows = session.exec(
        select(NotificationPreference.user_id, NotificationPreference.email_mode).where(
            NotificationPreference.user_id.in_(user_ids),  # type: ignore[attr-defined]
            NotificationPreference.kind == kind,
        )
    )
    for user_id, mode in rows:
        if mode in MODES:
            modes[user_id] = mode
    return modes


def _upsert_preference(session: Session, user_id: int, kind: str, mode: str) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = NotificationPreference.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(user_id=user_id, kind=kind, email_mode=mode)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "kind"], set_={"email_mode": mode}
    )
    session.exec(statement)  # type: ignore[call-overload]


def save_preferences(session: Session, user: User, modes: Mapping[str, str]) -> dict[str, str]:
    """Saves the modes given; kinds left out keep theirs, unknown kinds are ignored, an unknown
    mode is an error on that kind's field (nothing saved). Commits."""
    errors = {
        kind: _(
            "Choisissez « pas d'e-mail », « un e-mail à chaque fois » ou « un résumé par jour »."
        )
        for kind, mode in modes.items()
        if kind in KINDS and mode not in MODES
    }
    if errors:
        raise Invalid(errors)
    mine = kinds_for(user)
    for kind, mode in modes.items():
        if kind in mine:
            _upsert_preference(session, user.id, kind, mode)  # type: ignore[arg-type]
    session.commit()
    return preferences(session, user)


# --- unsubscribe links ---------------------------------------------------------------------------


def read_unsubscribe_token(
    session: Session, token: str, settings: Settings | None = None
) -> tuple[User, list[str]]:
    """The account and the kinds a link would switch off, or NotFound for a forged, damaged or
    outdated link. Writes nothing (the confirmation page shows this)."""
    try:
        payload = read_link(_settings(session, settings), token)
    except BadSignature:
        raise NotFound(_(_INVALID_UNSUBSCRIBE)) from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or payload[1] not in (*KINDS, DIGEST)
    ):
        raise NotFound(_(_INVALID_UNSUBSCRIBE))
    user = session.get(User, payload[0])
    if user is None:
        raise NotFound(_(_INVALID_UNSUBSCRIBE))
    if payload[1] == DIGEST:
        kinds = [k for k, m in preferences(session, user).items() if m == EmailMode.daily.value]
    else:
        kinds = [payload[1]]
    return user, kinds


def unsubscribe(session: Session, token: str, settings: Settings | None = None) -> list[str]:
    """Switches e-mails off for the kinds in the link. Idempotent. Commits."""
    user, kinds = read_unsubscribe_token(session, token, settings)
    save_preferences(session, user, dict.fromkeys(kinds, EmailMode.none.value))
    return kinds
