"""Moderation decisions on needs, comments and reports.

Every decision: authorise → validate → change the status only if it is still what the
moderator saw (optimistic check: the seen status is in the UPDATE's WHERE, so two moderators
never overwrite each other; the second one is told who acted first) → audit entry → the
author's notification (in French, with the reason) → commit, all in one transaction.

Reports: a decision that hides or rejects an item closes its open reports as `actioned`;
« classer » closes them as `dismissed`. Rule for automatic hiding: an item hidden while no
moderator decided to hide it (its latest status decision in the audit log is not a moderator's
hide or reject — it was hidden because enough people reported it) is restored when its reports
are dismissed, since the reports were the only reason it was hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board.comments import change_comment_count
from app.board.events import CommentPublished, NeedStatusChanged
from app.board.models import (
    MODERATION_REASONS,
    Comment,
    CommentStatus,
    Need,
    NeedStatus,
    NotificationKind,
    Report,
)
from app.core import audit, events
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.web.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

if TYPE_CHECKING:
    from app.board.notifications import Message

PENDING = NeedStatus.pending.value
PUBLISHED = NeedStatus.published.value
HIDDEN = NeedStatus.hidden.value
REJECTED = NeedStatus.rejected.value
COVERED = NeedStatus.covered.value

DETAIL_MAX = 500
COVERED_NAME_MAX = 120
COVERED_URL_MAX = 500
COVERED_NOTE_MAX = 1000
CHARTER_PATH = "/charter"


@dataclass(frozen=True)
class Decision:
    action: str  # audit action
    source: tuple[str, ...]  # statuses the decision applies to
    target: str  # the status it sets ("" : depends on the status seen, see target_for)
    needs_reason: bool

    def target_for(self, seen_status: str) -> str:
        # « Refuser et bloquer » refuses a waiting item and hides a published one.
        if self.target:
            return self.target
        return REJECTED if seen_status == PENDING else HIDDEN


DECISIONS = {
    "approve": Decision("need.approve", (PENDING,), PUBLISHED, False),
    # « Valider et faire confiance »: approve, and the author's next posts skip the queue.
    "trust": Decision("need.approve", (PENDING,), PUBLISHED, False),
    "reject": Decision("need.reject", (PENDING,), REJECTED, True),
    # For spam waves: refuse this need, block its author, hide everything else they posted.
    "reject_block": Decision("", (PENDING, PUBLISHED, COVERED), "", True),
    "hide": Decision("need.hide", (PUBLISHED, COVERED), HIDDEN, True),
    "restore": Decision("need.restore", (HIDDEN, REJECTED), PUBLISHED, False),
    # « Déjà couvert »: an existing local service answers the need; it stays public.
    "covered": Decision("need.cover", (PENDING, PUBLISHED, HIDDEN), COVERED, False),
}

COMMENT_DECISIONS = {
    "approve": Decision(
        "comment.approve", (CommentStatus.pending.value,), CommentStatus.published.value, False
    ),
    "reject": Decision(
        "comment.reject", (CommentStatus.pending.value,), CommentStatus.hidden.value, True
    ),
    "reject_block": Decision(
        "",
        (CommentStatus.pending.value, CommentStatus.published.value),
        CommentStatus.hidden.value,
        True,
    ),
    "hide": Decision(
        "comment.hide", (CommentStatus.published.value,), CommentStatus.hidden.value, True
    ),
    "restore": Decision(
        "comment.restore", (CommentStatus.hidden.value,), CommentStatus.published.value, False
    ),
}

# Audit actions by which a moderator (not the reports) hid or refused an item.
MODERATOR_HIDING_ACTIONS = ("need.hide", "need.reject", "comment.hide", "comment.reject")
# Audit actions that set an item's status (the latest one says why it is as it is).
STATUS_ACTIONS = {
    "need": (
        "need.approve",
        "need.reject",
        "need.hide",
        "need.restore",
        "need.cover",
        "need.auto_hide",
    ),
    "comment": (
        "comment.approve",
        "comment.reject",
        "comment.hide",
        "comment.restore",
        "comment.auto_hide",
    ),
}

MESSAGES = {
    "approve": N_("Votre besoin « %(title)s » a été validé : il est maintenant public."),
    "trust": N_(
        "Votre besoin « %(title)s » a été validé : il est maintenant public. Vos prochaines "
        "contributions seront publiées sans attendre de relecture."
    ),
    "reject": N_("Votre besoin « %(title)s » n'a pas été publié. Motif : %(reason)s"),
    # (The block itself is told by accounts.block_user, with its own message.)
    "reject_block": N_("Votre besoin « %(title)s » n'est pas publié. Motif : %(reason)s"),
    "hide": N_("Votre besoin « %(title)s » a été masqué. Motif : %(reason)s"),
    "restore": N_("Votre besoin « %(title)s » est de nouveau visible."),
    "covered": N_(
        "Votre besoin « %(title)s » est déjà couvert : le service « %(service)s » y répond "
        "déjà près de chez vous. %(reason)s"
    ),
}

COMMENT_MESSAGES = {
    "approve": N_("Votre commentaire sur « %(title)s » a été validé : il est maintenant public."),
    "reject": N_("Votre commentaire sur « %(title)s » n'a pas été publié. Motif : %(reason)s"),
    "reject_block": N_("Votre commentaire sur « %(title)s » est masqué. Motif : %(reason)s"),
    "hide": N_("Votre commentaire sur « %(title)s » a été masqué. Motif : %(reason)s"),
    "restore": N_("Votre commentaire sur « %(title)s » est de nouveau visible."),
}

RESTORED_AFTER_REPORTS = N_("Signalements classés : le contenu masqué automatiquement est rétabli.")


def reason_text(code: str, detail: str) -> str:
    label = _(MODERATION_REASONS[code]) if code in MODERATION_REASONS else ""
    return f"{label} — {detail}" if label and detail else label or detail


def clean_detail(detail: str) -> str:
    return " ".join((detail or "").split())[:DETAIL_MAX]


def ensure_moderator(user: User | None) -> User:
    if user is None or not user.has_role(Role.moderator) or user.is_blocked():
        raise Forbidden()
    return user


def validate_reason(reason: str, detail: str) -> str:
    """The reason as told to the author, or Invalid on `reason` / `detail`."""
    if reason not in MODERATION_REASONS:
        raise Invalid({"reason": _("Choisissez un motif : il sera expliqué à l'auteur·e.")})
    if reason == "other" and not detail:
        raise Invalid({"detail": _("Précisez le motif : il sera expliqué à l'auteur·e.")})
    return reason_text(reason, detail)


def check_block_confirmed(decision_name: str, confirmed: bool, reason: str, detail: str) -> None:
    """« Refuser et bloquer » hides every contribution of the author at once: it needs its own,
    ticked confirmation (a form of its own in the queue, apart from « Refuser »). Invalid on
    `confirm_block`, with the reason's own error beside it so both show in one answer."""
    if decision_name != "reject_block" or confirmed:
        return
    errors = {
        "confirm_block": _(
            "Cochez la case pour confirmer le blocage : l'auteur·e ne pourra plus participer "
            "et toutes ses contributions seront masquées."
        )
    }
    try:
        validate_reason(reason, detail)
    except Invalid as exc:
        errors.update(exc.errors)
    raise Invalid(errors)


@dataclass(frozen=True)
class CoveredService:
    name: str
    url: str | None
    note: str | None


def validate_covered(name: str, url: str, note: str) -> CoveredService:
    """The existing service a « déjà couvert » need points to: a name (required), an http(s)
    link and a note (optional)."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    url = (url or "").strip()
    note = (note or "").replace("\x00", "").replace("\r\n", "\n").strip()
    if not name:
        errors["covered_name"] = _("Indiquez le nom du service qui répond déjà à ce besoin.")
    elif len(name) > COVERED_NAME_MAX:
        errors["covered_name"] = _(
            "Le nom doit faire au plus %(max)s caractères.", max=COVERED_NAME_MAX
        )
    if url:
        parts = urlsplit(url) if len(url) <= COVERED_URL_MAX else None
        if parts is None:
            errors["covered_url"] = _(
                "Le lien doit faire au plus %(max)s caractères.", max=COVERED_URL_MAX
            )
        elif (
            parts.scheme.lower() not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() for c in url)
        ):
            errors["covered_url"] = _(
                "Indiquez une adresse web complète, commençant par https:// ou http://."
            )
    if len(note) > COVERED_NOTE_MAX:
        errors["covered_note"] = _(
            "La note doit faire au plus %(max)s caractères.", max=COVERED_NOTE_MAX
        )
    if errors:
        raise Invalid(errors)
    return CoveredService(name=name, url=url or None, note=note or None)


# --- shared steps ----------------------------------------------------------------------------


def last_actor(session: Session, target_kind: str, target_id: int) -> str:
    last = session.exec(
        select(AuditEntry)
        .where(AuditEntry.target_kind == target_kind, AuditEntry.target_id == target_id)
        .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    ).first()
    if last is None:
        return _("un·e autre modérateur·rice")
    if last.actor_id is None and last.actor_name == audit.SYSTEM_ACTOR_NAME:
        return _("la modération automatique")
    return last.actor_name


def conflict(session: Session, target_kind: str, target_id: int) -> Conflict:
    """Says who acted first (« déjà traité par X »). Called when the conditional UPDATE, the
    decision's first write, changed nothing: there is nothing to undo."""
    who = last_actor(session, target_kind, target_id)
    if target_kind == "comment":
        message = _(
            "Ce commentaire a déjà été traité par %(who)s entre-temps : rechargez la file.",
            who=who,
        )
    elif target_kind == "user":
        message = _(
            "Les signalements de ce compte ont déjà été traités par %(who)s entre-temps : "
            "rechargez la file.",
            who=who,
        )
    else:
        message = _(
            "Ce besoin a déjà été traité par %(who)s entre-temps : rechargez la file.", who=who
        )
    return Conflict(message)


def close_reports(session: Session, target_kind: str, target_id: int, status: str) -> int:
    """Closes the open reports on an item (`actioned` or `dismissed`); how many were open."""
    result = session.exec(  # type: ignore[call-overload]
        update(Report)
        .where(
            Report.target_kind == target_kind,  # type: ignore[arg-type]
            Report.target_id == target_id,  # type: ignore[arg-type]
            Report.status == "open",  # type: ignore[arg-type]
        )
        .values(status=status, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _notify(
    session: Session,
    moderator: User,
    user_id: int | None,
    message: Message,
    *,
    need: Need | None,
    comment: Comment | None = None,
) -> None:
    from app.board.notifications import notify

    notify(
        session,
        NotificationKind.moderation,
        [user_id],
        need=need,
        comment=comment,
        actor=moderator,
        message=message,
    )


def _ensure_can_block(moderator: User, author: User | None) -> User:
    """The same rules as accounts.block_user, checked before anything is written."""
    if author is None:
        raise Invalid(
            {"decision": _("Ce contenu n'a plus d'auteur·e : il n'y a personne à bloquer.")}
        )
    if author.id == moderator.id:
        raise Forbidden(_("Vous ne pouvez pas bloquer votre propre compte."))
    if author.has_role(Role.moderator) and not moderator.has_role(Role.admin):
        raise Forbidden(_("Seul·e un·e administrateur·rice peut bloquer un membre de l'équipe."))
    return author


@dataclass
class Sweep:
    """What « refuser et bloquer » hid besides the item decided on."""

    needs: int = 0
    comments: int = 0


def _block_and_sweep(
    session: Session,
    moderator: User,
    author: User,
    why: str,
    *,
    skip: tuple[str, int],
) -> Sweep:
    """Blocks the author and hides everything they posted (published needs and comments are
    hidden, waiting ones refused), each item audited, counts kept exact, reports actioned."""
    from app.moderation.accounts import block_user

    block_user(session, moderator, author, reason=why[:500], commit=False)
    sweep = Sweep()
    needs = session.exec(
        select(Need).where(
            Need.author_id == author.id,
            Need.deleted_at.is_(None),  # type: ignore[union-attr]
            Need.status.in_((PENDING, PUBLISHED, COVERED)),  # type: ignore[attr-defined]
        )
    ).all()
    for need in needs:
        if ("need", need.id) == skip:
            continue
        before = need.status
        target = REJECTED if before == PENDING else HIDDEN
        result = session.exec(  # type: ignore[call-overload]
            update(Need)
            .where(Need.id == need.id, Need.status == before)  # type: ignore[arg-type]
            .values(status=target, moderation_reason=why)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # changed meanwhile by someone else: left as they decided
        action = "need.reject" if target == REJECTED else "need.hide"
        audit.record(
            session,
            moderator,
            action,
            "need",
            need.id,
            reason=why,
            before={"status": before},
            after={"status": target},
        )
        close_reports(session, "need", need.id, "actioned")  # type: ignore[arg-type]
        session.refresh(need)
        events.announce(session, NeedStatusChanged(need, before))
        sweep.needs += 1
    comments = session.exec(
        select(Comment).where(
            Comment.author_id == author.id,
            Comment.deleted_at.is_(None),  # type: ignore[union-attr]
            Comment.status.in_(  # type: ignore[attr-defined]
                (CommentStatus.pending.value, CommentStatus.published.value)
            ),
        )
    ).all()
    for comment in comments:
        if ("comment", comment.id) == skip:
            continue
        before = comment.status
        result = session.exec(  # type: ignore[call-overload]
            update(Comment)
            .where(Comment.id == comment.id, Comment.status == before)  # type: ignore[arg-type]
            .values(status=CommentStatus.hidden.value, moderation_reason=why)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        if before == CommentStatus.published.value:
            change_comment_count(session, comment.need_id, -1)
        audit.record(
            session,
            moderator,
            "comment.hide" if before == CommentStatus.published.value else "comment.reject",
            "comment",
            comment.id,
            reason=why,
            before={"status": before},
            after={"status": CommentStatus.hidden.value},
        )
        close_reports(session, "comment", comment.id, "actioned")  # type: ignore[arg-type]
        sweep.comments += 1
    return sweep


def _sweep_sentence(sweep: Sweep) -> str:
    if not sweep.needs and not sweep.comments:
        return ""
    return " " + _(
        "Vos autres contributions sont masquées aussi (%(needs)s besoin(s), "
        "%(comments)s commentaire(s)).",
        needs=sweep.needs,
        comments=sweep.comments,
    )


# --- needs -----------------------------------------------------------------------------------


def decide_need(
    session: Session,
    moderator: User,
    need_id: int,
    decision_name: str,
    *,
    seen_status: str,
    reason: str = "",
    detail: str = "",
    covered_name: str = "",
    covered_url: str = "",
    covered_note: str = "",
    confirmed_block: bool = False,
) -> Need:
    """Applies one decision to a need (see DECISIONS). Commits."""
    ensure_moderator(moderator)
    decision = DECISIONS.get(decision_name)
    if decision is None:
        raise Invalid({"decision": _("Cette décision n'existe pas.")})
    need = session.get(Need, need_id)
    if need is None or need.deleted_at is not None:
        raise NotFound(_("Ce besoin n'existe pas ou a été supprimé."))
    detail = clean_detail(detail)
    check_block_confirmed(decision_name, confirmed_block, reason, detail)
    why = validate_reason(reason, detail) if decision.needs_reason else detail
    covered = None
    if decision_name == "covered":
        covered = validate_covered(covered_name, covered_url, covered_note)
    if seen_status not in decision.source:
        raise Invalid({"decision": _("Cette décision ne s'applique pas à ce besoin.")})
    author = session.get(User, need.author_id) if need.author_id else None
    if decision_name == "reject_block":
        _ensure_can_block(moderator, author)
    if decision_name == "trust" and author is None:
        raise Invalid({"decision": _("Ce besoin n'a plus d'auteur·e à qui faire confiance.")})

    target = decision.target_for(seen_status)
    values: dict[str, object] = {"status": target}
    if target in (HIDDEN, REJECTED):
        values["moderation_reason"] = why
    elif target == COVERED:
        assert covered is not None
        values.update(
            covered_name=covered.name,
            covered_url=covered.url,
            covered_note=covered.note,
            moderation_reason=covered.note or "",
        )
    else:
        values["moderation_reason"] = ""
    result = session.exec(  # type: ignore[call-overload]
        update(Need)
        .where(Need.id == need_id, Need.status == seen_status)  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise conflict(session, "need", need_id)
    action = decision.action or ("need.reject" if target == REJECTED else "need.hide")
    after: dict[str, object] = {"status": target}
    if covered is not None:
        after.update(covered_name=covered.name, covered_url=covered.url)
        why = covered.note or ""
    audit.record(
        session,
        moderator,
        action,
        "need",
        need_id,
        reason=why,
        before={"status": seen_status},
        after=after,
    )
    if target in (HIDDEN, REJECTED, COVERED):
        # « Déjà couvert » answers the reports too (often « ça existe déjà »): they close.
        close_reports(session, "need", need_id, "actioned")
    elif decision_name == "restore":
        # Restoring is the review the reports asked for: they close, so an item hidden by
        # reports is not hidden again by the next one (the threshold counts open reports).
        close_reports(session, "need", need_id, "dismissed")
    sweep = Sweep()
    if decision_name == "trust" and author is not None and author.trusted_at is None:
        author.trusted_at = utcnow()
        session.add(author)
        audit.record(
            session,
            moderator,
            "user.trust",
            "user",
            author.id,
            reason=_("Besoin « %(title)s » validé avec confiance", title=need.title),
            before={"trusted_at": None},
            after={"trusted_at": author.trusted_at},
        )
    if decision_name == "reject_block" and author is not None:
        sweep = _block_and_sweep(session, moderator, author, why, skip=("need", need_id))
    session.refresh(need)
    events.announce(session, NeedStatusChanged(need, seen_status))

    def message() -> str:  # in the author's language (app.board.notifications.Message)
        told = reason_text(reason, detail) if decision.needs_reason else why
        text = _(
            MESSAGES[decision_name],
            title=need.title,
            reason=told,
            service=covered.name if covered else "",
        )
        return text + _sweep_sentence(sweep)

    _notify(session, moderator, need.author_id, message, need=need)
    session.commit()
    return need


def pending_needs(session: Session, limit: int = 50) -> list[Need]:
    """Needs waiting for approval, oldest first."""
    return list(
        session.exec(
            select(Need)
            .where(Need.status == PENDING, Need.deleted_at.is_(None))  # type: ignore[union-attr]
            .order_by(Need.created_at, Need.id)  # type: ignore[arg-type]
            .limit(limit)
        )
    )


# --- comments --------------------------------------------------------------------------------


def decide_comment(
    session: Session,
    moderator: User,
    comment_id: int,
    decision_name: str,
    *,
    seen_status: str,
    reason: str = "",
    detail: str = "",
    confirmed_block: bool = False,
) -> Comment:
    """Approve or reject a waiting comment, hide or restore a published one; `comments_count`
    follows in the same transaction (it counts published comments). Commits."""
    from app.board.comments import notify_new_comment

    ensure_moderator(moderator)
    decision = COMMENT_DECISIONS.get(decision_name)
    if decision is None:
        raise Invalid({"decision": _("Cette décision n'existe pas.")})
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound(_("Ce commentaire n'existe pas ou plus."))
    detail = clean_detail(detail)
    check_block_confirmed(decision_name, confirmed_block, reason, detail)
    why = validate_reason(reason, detail) if decision.needs_reason else detail
    if seen_status not in decision.source:
        raise Invalid({"decision": _("Cette décision ne s'applique pas à ce commentaire.")})
    author = session.get(User, comment.author_id) if comment.author_id else None
    if decision_name == "reject_block":
        _ensure_can_block(moderator, author)
    need = session.get(Need, comment.need_id)
    assert need is not None

    target = decision.target
    result = session.exec(  # type: ignore[call-overload]
        update(Comment)
        .where(Comment.id == comment_id, Comment.status == seen_status)  # type: ignore[arg-type]
        .values(status=target, moderation_reason=why if target == HIDDEN else "")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise conflict(session, "comment", comment_id)
    published = CommentStatus.published.value
    if seen_status == published and target != published:
        change_comment_count(session, comment.need_id, -1)
    elif seen_status != published and target == published:
        change_comment_count(session, comment.need_id, +1)
    action = decision.action or ("comment.hide" if seen_status == published else "comment.reject")
    audit.record(
        session,
        moderator,
        action,
        "comment",
        comment_id,
        reason=why,
        before={"status": seen_status},
        after={"status": target},
    )
    if target == HIDDEN:
        close_reports(session, "comment", comment_id, "actioned")
    elif decision_name == "restore":
        close_reports(session, "comment", comment_id, "dismissed")  # see decide_need
    sweep = Sweep()
    if decision_name == "reject_block" and author is not None:
        sweep = _block_and_sweep(session, moderator, author, why, skip=("comment", comment_id))
    session.refresh(comment)
    session.refresh(need)
    if target == published:
        events.announce(session, CommentPublished(comment, need))
    if decision_name == "approve" and author is not None:
        # Published now: followers hear of it as of any new comment (the author of the comment
        # it answers too).
        parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
        notify_new_comment(session, need, comment, author, answered=parent)

    def message() -> str:  # in the author's language
        told = reason_text(reason, detail) if decision.needs_reason else why
        return _(COMMENT_MESSAGES[decision_name], title=need.title, reason=told) + (
            _sweep_sentence(sweep)
        )

    _notify(session, moderator, comment.author_id, message, need=need, comment=comment)
    session.commit()
    return comment


# --- reports ---------------------------------------------------------------------------------

REPORT_KINDS = ("need", "comment", "user")


def hidden_by_reports(session: Session, target_kind: str, target_id: int) -> str | None:
    """When the item's latest status decision was not a moderator hiding it, it is hidden
    because of the reports (automatic hiding, `*.auto_hide`), so classing them should bring it
    back: returns the status to restore (the one it had before the automatic hiding; published
    when unknown). None when a moderator hid it."""
    last = session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.target_kind == target_kind,
            AuditEntry.target_id == target_id,
            AuditEntry.action.in_(STATUS_ACTIONS[target_kind]),  # type: ignore[attr-defined]
        )
        .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    ).first()
    if last is not None and last.action in MODERATOR_HIDING_ACTIONS:
        return None
    before = (last.before or {}).get("status") if last is not None else None
    if target_kind == "need" and before in (PUBLISHED, COVERED):
        return str(before)
    return PUBLISHED


@dataclass
class Dismissal:
    closed: int
    restored: bool = False


def dismiss_reports(
    session: Session,
    moderator: User,
    target_kind: str,
    target_id: int,
    *,
    seen_report_id: int | None = None,
) -> Dismissal:
    """« Classer »: closes the open reports on an item as dismissed — those the moderator saw
    (ids up to `seen_report_id`; newer ones stay open). If the item was hidden only because of
    its reports, it is restored (and its author told). Commits."""
    ensure_moderator(moderator)
    if target_kind not in REPORT_KINDS:
        raise NotFound()
    statement = update(Report).where(
        Report.target_kind == target_kind,  # type: ignore[arg-type]
        Report.target_id == target_id,  # type: ignore[arg-type]
        Report.status == "open",  # type: ignore[arg-type]
    )
    if seen_report_id is not None:
        statement = statement.where(Report.id <= seen_report_id)  # type: ignore[arg-type, operator]
    open_before = session.exec(
        select(func.count())
        .select_from(Report)
        .where(
            Report.target_kind == target_kind,
            Report.target_id == target_id,
            Report.status == "open",
        )
    ).one()
    result = session.exec(  # type: ignore[call-overload]
        statement.values(status="dismissed", resolved_at=utcnow()).execution_options(
            synchronize_session=False
        )
    )
    closed = result.rowcount or 0
    if closed == 0:
        exists = session.exec(
            select(func.count())
            .select_from(Report)
            .where(Report.target_kind == target_kind, Report.target_id == target_id)
        ).one()
        if not exists:
            raise NotFound(_("Aucun signalement sur cet élément."))
        raise conflict(session, target_kind, target_id)
    audit.record(
        session,
        moderator,
        "report.dismiss",
        target_kind,
        target_id,
        reason=_("Signalements classés sans suite"),
        before={"open_reports": open_before},
        after={"open_reports": open_before - closed},
    )
    dismissal = Dismissal(closed=closed)
    if open_before - closed == 0 and target_kind in ("need", "comment"):
        dismissal.restored = _restore_after_reports(session, moderator, target_kind, target_id)
    session.commit()
    return dismissal


def _restore_after_reports(
    session: Session, moderator: User, target_kind: str, target_id: int
) -> bool:
    model = Need if target_kind == "need" else Comment
    item = session.get(model, target_id)  # type: ignore[arg-type]
    if item is None or item.deleted_at is not None or item.status != HIDDEN:
        return False
    restored_status = hidden_by_reports(session, target_kind, target_id)
    if restored_status is None:
        return False
    result = session.exec(  # type: ignore[call-overload]
        update(model)
        .where(model.id == target_id, model.status == HIDDEN)  # type: ignore[attr-defined]
        .values(status=restored_status, moderation_reason="")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    why = _(RESTORED_AFTER_REPORTS)
    audit.record(
        session,
        moderator,
        f"{target_kind}.restore",
        target_kind,
        target_id,
        reason=why,
        before={"status": HIDDEN},
        after={"status": restored_status},
    )
    session.refresh(item)
    comment = item if isinstance(item, Comment) else None
    if comment is not None:
        change_comment_count(session, comment.need_id, +1)
        need = session.get(Need, comment.need_id)
        assert need is not None
        events.announce(session, CommentPublished(comment, need))
        template = COMMENT_MESSAGES["restore"]  # (not a literal in _(): nothing to extract)
    else:
        need = item  # type: ignore[assignment]
        events.announce(session, NeedStatusChanged(need, HIDDEN))
        template = MESSAGES["restore"]
    title = need.title
    _notify(
        session,
        moderator,
        item.author_id,
        lambda: _(template, title=title, reason=""),  # in the author's language
        need=need,
        comment=comment,
    )
    return True


# --- bulk ------------------------------------------------------------------------------------

BULK_ACTIONS = ("approve", "reject", "hide", "dismiss")


@dataclass(frozen=True)
class BulkTarget:
    kind: str  # need, comment, user
    id: int
    seen_status: str
    seen_report_id: int | None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)  # item keys
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item key, error code)


def bulk_error_code(exc: AppError) -> str:
    if isinstance(exc, Conflict):
        return "conflict"
    if isinstance(exc, NotFound):
        return "notfound"
    if isinstance(exc, Forbidden):
        return "forbidden"
    return "invalid"


def bulk_decide(
    session: Session,
    moderator: User,
    action: str,
    targets: list[BulkTarget],
    *,
    reason: str = "",
    detail: str = "",
) -> BulkResult:
    """One action on a selection, each item handled as if alone (its own optimistic check and
    its own commit): one stale item fails without stopping the others."""
    ensure_moderator(moderator)
    errors: dict[str, str] = {}
    if action not in BULK_ACTIONS:
        errors["action"] = _("Choisissez l'action à appliquer à la sélection.")
    if not targets:
        errors["items"] = _("Cochez au moins un élément de la file.")
    detail = clean_detail(detail)
    if action in ("reject", "hide") and not errors:
        validate_reason(reason, detail)
    if errors:
        raise Invalid(errors)
    result = BulkResult()
    for target in targets:
        try:
            if action == "dismiss":
                dismiss_reports(
                    session,
                    moderator,
                    target.kind,
                    target.id,
                    seen_report_id=target.seen_report_id,
                )
            elif target.kind == "need":
                decide_need(
                    session,
                    moderator,
                    target.id,
                    action,
                    seen_status=target.seen_status,
                    reason=reason,
                    detail=detail,
                )
            elif target.kind == "comment":
                decide_comment(
                    session,
                    moderator,
                    target.id,
                    action,
                    seen_status=target.seen_status,
                    reason=reason,
                    detail=detail,
                )
            else:
                raise Invalid({"decision": _("Cette décision ne s'applique pas à un compte.")})
        except AppError as exc:
            session.rollback()
            result.failed.append((target.key, bulk_error_code(exc)))
        else:
            result.done.append(target.key)
    return result
