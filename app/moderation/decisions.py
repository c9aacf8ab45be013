"""What a moderation decision is, and the steps every decision shares.

The decisions a moderator takes on a need or a comment (approve, trust, reject, « refuser et
bloquer », hide, restore, « déjà couvert »), what each tells the author, the reasons they give,
and the shared steps: who acted first when the optimistic check fails, closing the reports of
an item, telling its author. The decisions themselves are taken in service.py (the queue), on
reports in report_decisions.py, in bulk in bulk.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import (
    MODERATION_REASONS,
    Comment,
    CommentStatus,
    Need,
    NeedStatus,
    NotificationKind,
    Report,
)
from app.core import audit
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.urls import web_address_error

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
        too_long = _("Le lien doit faire au plus %(max)s caractères.", max=COVERED_URL_MAX)
        if url_error := web_address_error(url, COVERED_URL_MAX, too_long):
            errors["covered_url"] = url_error
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


def notify_author(
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
