"""Moderation decisions on needs: approve, reject, hide, restore.

Every decision: authorise → validate the reason → change the status only if it is still what
the moderator saw (optimistic check in the UPDATE's WHERE, so two moderators never overwrite
each other) → audit entry and the author's notification, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board.models import Need, NeedStatus
from app.moderation import audit
from app.moderation.models import AuditEntry
from app.web.errors import Conflict, Forbidden, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_


@dataclass(frozen=True)
class Decision:
    action: str  # audit action
    source: tuple[str, ...]  # statuses the decision applies to
    target: str  # the status it sets
    needs_reason: bool


DECISIONS = {
    "approve": Decision(
        "need.approve", (NeedStatus.pending.value,), NeedStatus.published.value, False
    ),
    "reject": Decision("need.reject", (NeedStatus.pending.value,), NeedStatus.rejected.value, True),
    "hide": Decision(
        "need.hide",
        (NeedStatus.published.value, NeedStatus.covered.value),
        NeedStatus.hidden.value,
        True,
    ),
    "restore": Decision(
        "need.restore",
        (NeedStatus.hidden.value, NeedStatus.rejected.value),
        NeedStatus.published.value,
        False,
    ),
}

REASONS = {
    "spam": N_("Publicité ou spam"),
    "abusive": N_("Propos injurieux ou irrespectueux"),
    "personal_data": N_("Données personnelles d'autres personnes"),
    "off_topic": N_("Hors sujet : ce n'est pas un besoin social du territoire"),
    "duplicate": N_("Doublon d'un besoin déjà publié"),
    "other": N_("Autre raison"),
}

MESSAGES = {
    "approve": N_("Votre besoin « %(title)s » a été validé : il est maintenant public."),
    "reject": N_("Votre besoin « %(title)s » n'a pas été publié. Motif : %(reason)s"),
    "hide": N_("Votre besoin « %(title)s » a été masqué. Motif : %(reason)s"),
    "restore": N_("Votre besoin « %(title)s » est de nouveau visible."),
}


def reason_text(code: str, detail: str) -> str:
    label = _(REASONS[code]) if code in REASONS else ""
    return f"{label} — {detail}" if label and detail else label or detail


def decide_need(
    session: Session,
    moderator: User,
    need_id: int,
    decision_name: str,
    *,
    seen_status: str,
    reason: str = "",
    detail: str = "",
) -> Need:
    if not moderator.has_role(Role.moderator) or moderator.is_blocked():
        raise Forbidden()
    decision = DECISIONS.get(decision_name)
    if decision is None:
        raise Invalid({"decision": _("Cette décision n'existe pas.")})
    need = session.get(Need, need_id)
    if need is None or need.deleted_at is not None:
        raise NotFound(_("Ce besoin n'existe pas ou a été supprimé."))
    detail = " ".join((detail or "").split())[:500]
    if decision.needs_reason:
        if reason not in REASONS:
            raise Invalid({"reason": _("Choisissez un motif : il sera expliqué à l'auteur·e.")})
        if reason == "other" and not detail:
            raise Invalid({"detail": _("Précisez le motif : il sera expliqué à l'auteur·e.")})
    if seen_status not in decision.source:
        raise Invalid({"decision": _("Cette décision ne s'applique pas à ce besoin.")})
    result = session.exec(
        update(Need)  # type: ignore[call-overload]
        .where(Need.id == need_id, Need.status == seen_status)
        .values(status=decision.target)
    )
    if result.rowcount != 1:
        session.rollback()
        last = session.exec(
            select(AuditEntry)
            .where(AuditEntry.target_kind == "need", AuditEntry.target_id == need_id)
            .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
        ).first()
        who = last.actor_name if last else _("un·e autre modérateur·rice")
        raise Conflict(
            _("Ce besoin a déjà été traité par %(who)s entre-temps : rechargez la file.", who=who)
        )
    why = reason_text(reason, detail) if decision.needs_reason else detail
    audit.record(
        session,
        moderator,
        decision.action,
        "need",
        need_id,
        reason=why,
        before={"status": seen_status},
        after={"status": decision.target},
    )
    from app.board.notifications import notify

    session.refresh(need)
    notify(
        session,
        "moderation",
        [need.author_id],
        need=need,
        actor=moderator,
        message=_(MESSAGES[decision_name], title=need.title, reason=why),
    )
    session.commit()
    return need


def pending_needs(session: Session, limit: int = 50) -> list[Need]:
    """The queue: needs waiting for approval, oldest first."""
    return list(
        session.exec(
            select(Need)
            .where(Need.status == NeedStatus.pending.value, Need.deleted_at.is_(None))  # type: ignore[union-attr]
            .order_by(Need.created_at, Need.id)  # type: ignore[arg-type]
            .limit(limit)
        )
    )
