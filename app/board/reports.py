"""Reports (signalements): a resident flags a need, a comment or an account, with a reason.

Reports feed the moderation queue (moderation issue); until then they are stored and listed
nowhere public. Rules:
- one OPEN report per reporter and item (a partial unique index enforces it even under races;
  once a moderator closes it, the same person may report the item again);
- nobody reports themselves or their own content;
- the item must exist and be visible to the reporter (otherwise: 404, so reporting cannot be
  used to probe hidden content or accounts);
- the "report" rate limit applies, per account and per address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import distinct, exists, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board import team_alerts
from app.board.events import NeedStatusChanged
from app.board.models import (
    PUBLIC_NEED_STATUSES,
    Comment,
    CommentStatus,
    Need,
    NotificationKind,
    Report,
    ReportReason,
    ReportTarget,
)
from app.board.notifications import notify
from app.board.permissions import can_view_need, is_moderator
from app.core import audit, events
from app.core.ratelimit import check_rate
from app.core.text import excerpt
from app.web.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.web.i18n import format_number
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import MAX_ID

DETAIL_MAX_LENGTH = 1000
OPEN = "open"
_ID = re.compile(r"[0-9]{1,12}")

# The reasons a person gives for a report, in the order the form offers them.
REASONS = [
    (ReportReason.spam, N_("Spam ou publicité")),
    (ReportReason.abusive, N_("Propos injurieux, haineux ou harcèlement")),
    (
        ReportReason.personal_data,
        N_("Données personnelles exposées (adresse, téléphone, nom d'une autre personne…)"),
    ),
    (ReportReason.off_topic, N_("Hors sujet : ce n'est pas un besoin du territoire")),
    (ReportReason.other, N_("Autre raison (précisez ci-dessous)")),
]


def parse_target(kind: str, raw_id: str) -> tuple[ReportTarget, int]:
    """`kind` and `id` from the URL or the form: 400 when malformed, 404 when out of range."""
    try:
        target_kind = ReportTarget(kind.strip())
    except ValueError:
        raise AppError(
            _("On ne peut signaler qu'un besoin, un commentaire ou un compte.")
        ) from None
    raw_id = raw_id.strip()
    if not _ID.fullmatch(raw_id):
        raise AppError(_("Le contenu à signaler n'est pas indiqué correctement."))
    target_id = int(raw_id)
    if not 1 <= target_id <= MAX_ID:
        raise NotFound(_("Ce contenu n'existe pas ou n'est plus visible."))
    return target_kind, target_id


class AlreadyReported(Conflict):
    """This person already has an open report on this item: nothing new is written."""

    def __init__(self) -> None:
        super().__init__(
            _("Vous avez déjà signalé ce contenu ; l'équipe de modération va l'examiner.")
        )


@dataclass(frozen=True)
class ReportSubject:
    """The item being reported, as the reporter may see it."""

    kind: ReportTarget
    id: int
    owner_id: int | None  # who wrote it (or the account itself): they cannot report it
    title: str  # the need's title, or the account's display name
    excerpt: str = ""  # the comment's text, shortened
    author_name: str = ""  # the comment's author
    need: Need | None = None  # the need, or the need a comment belongs to


def _not_found() -> NotFound:
    return NotFound(_("Ce contenu n'existe pas ou n'est plus visible."))


def _comment_visible(user: User, comment: Comment) -> bool:
    if comment.deleted_at is not None:
        return False
    return (
        comment.status == CommentStatus.published.value
        or is_moderator(user)
        or comment.author_id == user.id
    )


def _has_public_posts(session: Session, user_id: int) -> bool:
    """An account shows up on the site only through what it posted publicly."""
    public_need = exists().where(
        Need.author_id == user_id,
        Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    public_comment = exists().where(
        Comment.author_id == user_id,
        Comment.status == CommentStatus.published.value,
        Comment.deleted_at.is_(None),  # type: ignore[union-attr]
        Comment.need_id == Need.id,
        Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    return bool(session.exec(select(public_need | public_comment)).one())


def load_subject(session: Session, user: User, kind: ReportTarget, target_id: int) -> ReportSubject:
    """The item `user` wants to report, or NotFound when it does not exist or they cannot see
    it. An account can be reported by someone who has seen it: that is, once it has posted
    publicly (moderators see every account)."""
    if kind is ReportTarget.need:
        need = session.get(Need, target_id)
        if need is None or not can_view_need(user, need):
            raise _not_found()
        return ReportSubject(kind, target_id, need.author_id, need.title, need=need)
    if kind is ReportTarget.comment:
        comment = session.get(Comment, target_id)
        if comment is None or not _comment_visible(user, comment):
            raise _not_found()
        need = session.get(Need, comment.need_id)
        if need is None or not can_view_need(user, need):
            raise _not_found()
        author = session.get(User, comment.author_id) if comment.author_id else None
        return ReportSubject(
            kind,
            target_id,
            comment.author_id,
            need.title,
            excerpt=excerpt(comment.body, 200),
            author_name=author.display_name if author else "",
            need=need,
        )
    account = session.get(User, target_id)
    if account is None:
        raise _not_found()
    seen = account.id == user.id or is_moderator(user) or _has_public_posts(session, target_id)
    if not seen:
        raise _not_found()
    return ReportSubject(kind, target_id, account.id, account.display_name)


def can_report(user: User, subject: ReportSubject) -> bool:
    """Anyone who may participate reports what they can see, except themselves and their own
    content (their own need or comment: they can edit or delete it instead)."""
    return subject.owner_id is None or subject.owner_id != user.id


def ensure_can_report(user: User, subject: ReportSubject) -> None:
    if can_report(user, subject):
        return
    if subject.kind is ReportTarget.user:
        raise Forbidden(_("Vous ne pouvez pas signaler votre propre compte."))
    raise Forbidden(
        _(
            "Vous ne pouvez pas signaler votre propre contenu : "
            "vous pouvez le modifier ou le supprimer vous-même."
        )
    )


def has_open_report(session: Session, reporter: User, subject: ReportSubject) -> bool:
    return (
        session.exec(
            select(Report.id).where(
                Report.reporter_id == reporter.id,
                Report.target_kind == subject.kind.value,
                Report.target_id == subject.id,
                Report.status == OPEN,
            )
        ).first()
        is not None
    )


def validate_report(reason: str, detail: str) -> tuple[ReportReason, str]:
    """The reason (one of ReportReason) and the optional text, required for « other »."""
    errors: dict[str, str] = {}
    detail = (detail or "").replace("\x00", "").replace("\r\n", "\n").strip()
    try:
        reason_value: ReportReason | None = ReportReason(reason)
    except ValueError:
        reason_value = None
        errors["reason"] = _("Choisissez la raison du signalement.")
    if len(detail) > DETAIL_MAX_LENGTH:
        errors["detail"] = _(
            "Votre précision est trop longue : %(max)s caractères au plus (vous en avez écrit "
            "%(count)s).",
            max=format_number(DETAIL_MAX_LENGTH),
            count=format_number(len(detail)),
        )
    elif reason_value is ReportReason.other and not detail:
        errors["detail"] = _("Précisez en quelques mots ce qui pose problème.")
    if errors or reason_value is None:
        raise Invalid(errors)
    return reason_value, detail


def create_report(
    session: Session,
    reporter: User,
    subject: ReportSubject,
    *,
    reason: str,
    detail: str,
    ip: str,
    rate_limits: bool = True,
) -> Report:
    """Stores the report (committed). Raises AlreadyReported when this person's previous report
    on the item is still open — then nothing is written, not even a rate-limit event."""
    ensure_can_report(reporter, subject)
    if has_open_report(session, reporter, subject):
        raise AlreadyReported()
    reason_value, detail = validate_report(reason, detail)
    check_rate(session, "report", user_id=reporter.id, ip=ip, enabled=rate_limits)
    report = Report(
        reporter_id=reporter.id,  # type: ignore[arg-type]
        target_kind=subject.kind.value,
        target_id=subject.id,
        reason=reason_value.value,
        detail=detail,
    )
    try:
        # Two submissions at once both pass the check above; the partial unique index stops
        # the second one, inside a savepoint so the error does not poison the session.
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        session.rollback()  # the rate event goes too: nothing was reported
        raise AlreadyReported() from None
    if subject.kind in (ReportTarget.need, ReportTarget.comment):
        auto_hide(session, subject)
    _alert_team(session, reporter, subject)
    session.commit()
    return report


def _alert_team(session: Session, reporter: User, subject: ReportSubject) -> None:
    if subject.kind == ReportTarget.user:
        team_alerts.reported(session, reporter, account_name=subject.title)
        return
    comment = session.get(Comment, subject.id) if subject.kind == ReportTarget.comment else None
    team_alerts.reported(session, reporter, need=subject.need, comment=comment)


# --- automatic hiding --------------------------------------------------------------------------


def distinct_open_reporters(session: Session, kind: str, target_id: int) -> int:
    """Distinct accounts with an open report on the item, counting only confirmed addresses:
    accounts made in a minute with throwaway addresses must not be able to hide anyone."""
    return session.exec(
        select(func.count(distinct(Report.reporter_id)))
        .join(User, User.id == Report.reporter_id)  # type: ignore[arg-type]
        .where(
            Report.target_kind == kind,
            Report.target_id == target_id,
            Report.status == OPEN,
            User.email_verified_at.is_not(None),  # type: ignore[union-attr]
        )
    ).one()


def _exempt(session: Session, author_id: int | None, recorded_by_id: int | None = None) -> bool:
    """Content of staff and admins is never hidden automatically (issue 4): their word is the
    fabrique's. A need collected offline (no author, typed in by staff) is staff content."""
    if author_id is None:
        return recorded_by_id is not None
    author = session.get(User, author_id)
    return author is not None and author.has_role(Role.staff)


def auto_hide(session: Session, subject: ReportSubject) -> bool:
    """Hides the reported need or comment once `auto_hide_threshold` distinct accounts have an
    open report on it — not before — until a moderator reviews it. In the report's transaction
    (no commit): the status change, the comment count, the system's audit entry and the
    author's notification go together with the report. Returns True when it hid the item.

    Concurrency: the item's row is locked first (FOR UPDATE on PostgreSQL; SQLite has a single
    writer), so two last reports at once are counted one after the other and the threshold is
    never missed; the UPDATE is conditional on the public status, so the item is hidden, and a
    comment's count decremented, once."""
    from app.core.site_config import site_config

    model: type[Need] | type[Comment] = Need if subject.kind is ReportTarget.need else Comment
    row = session.exec(
        select(model)
        .where(model.id == subject.id)  # type: ignore[arg-type]
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None or row.deleted_at is not None:
        return False
    if _exempt(session, row.author_id, getattr(row, "recorded_by_id", None)):
        return False
    threshold = site_config(session).auto_hide_threshold
    count = distinct_open_reporters(session, subject.kind.value, subject.id)
    if count < threshold:
        return False
    reason = _(
        "Masqué automatiquement après %(count)s signalements, en attente d'examen par "
        "l'équipe de modération.",
        count=count,
    )
    public = list(PUBLIC_NEED_STATUSES) if model is Need else [CommentStatus.published.value]
    result = session.exec(  # type: ignore[call-overload]
        update(model)
        .where(
            model.id == subject.id,  # type: ignore[arg-type]
            model.status.in_(public),  # type: ignore[attr-defined]
            model.deleted_at.is_(None),  # type: ignore[union-attr]
        )
        .values(status="hidden", moderation_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False  # already hidden (by a moderator or the other last report), or pending
    before = row.status
    session.refresh(row)
    need = row if isinstance(row, Need) else session.get(Need, row.need_id)
    comment = row if isinstance(row, Comment) else None
    if isinstance(row, Need):
        events.announce(session, NeedStatusChanged(row, before))
    if comment is not None:
        session.exec(  # type: ignore[call-overload]
            update(Need)
            .where(Need.id == comment.need_id)  # type: ignore[arg-type]
            .values(comments_count=Need.comments_count - 1)
            .execution_options(synchronize_session=False)
        )
    audit.record(
        session,
        None,
        f"{subject.kind.value}.auto_hide",
        subject.kind.value,
        subject.id,
        reason=reason,
        before={"status": before},
        after={"status": "hidden", "open_reports": count},
    )

    def message() -> str:  # in the author's language (notifications.Message)
        if comment is not None:
            return _(
                "Votre commentaire sur « %(title)s » a été masqué automatiquement après "
                "%(count)s signalements, en attente d'examen par l'équipe de modération.",
                title=need.title if need else "",
                count=count,
            )
        return _(
            "Votre besoin « %(title)s » a été masqué automatiquement après %(count)s "
            "signalements, en attente d'examen par l'équipe de modération.",
            title=row.title,  # type: ignore[union-attr]
            count=count,
        )

    notify(
        session,
        NotificationKind.moderation,
        [row.author_id],
        need=need,
        comment=comment,
        message=message,
    )
    return True
