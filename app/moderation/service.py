"""Moderation decisions on needs and comments (the queue, a need's file, the need page): one
service for both kinds, whose differences are data (`KINDS`, and the decisions of
decisions.py) rather than a second copy of the steps.

Every decision: authorise → validate → change the status only if it is still what the
moderator saw (optimistic check: the seen status is in the UPDATE's WHERE, so two moderators
never overwrite each other; the second one is told who acted first) → audit entry → the
author's notification (in French, with the reason) → commit, all in one transaction.

Reports: a decision that hides, rejects or covers an item closes its open reports as
`actioned`; restoring closes them as `dismissed`; « classer » is report_decisions.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.comments import change_comment_count
from app.board.events import CommentPublished, NeedStatusChanged
from app.board.models import Comment, Need
from app.core import audit, events
from app.core.db import utcnow
from app.moderation.decisions import (
    COMMENT_DECISIONS,
    COMMENT_MESSAGES,
    DECISIONS,
    HIDDEN,
    MESSAGES,
    PENDING,
    PUBLISHED,
    REJECTED,
    Decision,
    check_block_confirmed,
    clean_detail,
    close_reports,
    conflict,
    notify_author,
    reason_text,
    validate_covered,
    validate_reason,
)
from app.moderation.permissions import ensure_moderator
from app.moderation.sweep import Sweep, block_and_sweep, ensure_can_block, sweep_sentence
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_


@dataclass(frozen=True)
class ItemKind:
    """What differs between deciding on a need and on a comment."""

    name: str  # the audit log's and the reports' target kind
    model: type[Need] | type[Comment]
    decisions: dict[str, Decision]
    messages: dict[str, str]  # what the author is told, per decision
    gone: str
    not_applicable: str


KINDS = {
    "need": ItemKind(
        "need",
        Need,
        DECISIONS,
        MESSAGES,
        N_("Ce besoin n'existe pas ou a été supprimé."),
        N_("Cette décision ne s'applique pas à ce besoin."),
    ),
    "comment": ItemKind(
        "comment",
        Comment,
        COMMENT_DECISIONS,
        COMMENT_MESSAGES,
        N_("Ce commentaire n'existe pas ou plus."),
        N_("Cette décision ne s'applique pas à ce commentaire."),
    ),
}


def decide(
    session: Session,
    moderator: User,
    kind_name: str,
    item_id: int,
    decision_name: str,
    *,
    seen_status: str,
    reason: str = "",
    detail: str = "",
    covered_name: str = "",
    covered_url: str = "",
    covered_note: str = "",
    confirmed_block: bool = False,
) -> Need | Comment:
    """Applies one decision (decisions.DECISIONS, COMMENT_DECISIONS) to a need or a comment.
    A comment's `comments_count` follows in the same transaction (it counts published
    comments). Commits."""
    from app.board.comments import notify_new_comment

    ensure_moderator(moderator)
    kind = KINDS[kind_name]
    decision = kind.decisions.get(decision_name)
    if decision is None:
        raise Invalid({"decision": _("Cette décision n'existe pas.")})
    item = session.get(kind.model, item_id)
    if item is None or item.deleted_at is not None:
        raise NotFound(_(kind.gone))
    detail = clean_detail(detail)
    check_block_confirmed(decision_name, confirmed_block, reason, detail)
    why = validate_reason(reason, detail) if decision.needs_reason else detail
    covered = None
    if decision_name == "covered":
        covered = validate_covered(covered_name, covered_url, covered_note)
    if seen_status not in decision.source:
        raise Invalid({"decision": _(kind.not_applicable)})
    author = session.get(User, item.author_id) if item.author_id else None
    if decision_name == "reject_block":
        ensure_can_block(moderator, author)
    if decision_name == "trust" and author is None:
        raise Invalid({"decision": _("Ce besoin n'a plus d'auteur·e à qui faire confiance.")})
    need = item if isinstance(item, Need) else session.get(Need, item.need_id)
    assert need is not None

    target = decision.target_for(seen_status)
    values: dict[str, object] = {
        "status": target,
        "moderation_reason": why if target in (HIDDEN, REJECTED) else "",
    }
    if covered is not None:
        values.update(
            covered_name=covered.name,
            covered_url=covered.url,
            covered_note=covered.note,
            moderation_reason=covered.note or "",
        )
    result = session.exec(  # type: ignore[call-overload]
        update(kind.model)
        .where(kind.model.id == item_id, kind.model.status == seen_status)  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise conflict(session, kind.name, item_id)
    if isinstance(item, Comment) and (seen_status == PUBLISHED) != (target == PUBLISHED):
        change_comment_count(session, item.need_id, +1 if target == PUBLISHED else -1)
    # « Refuser et bloquer » refuses what waited and hides what was public.
    action = decision.action or f"{kind.name}.{'reject' if seen_status == PENDING else 'hide'}"
    after: dict[str, object] = {"status": target}
    if covered is not None:
        after.update(covered_name=covered.name, covered_url=covered.url)
        why = covered.note or ""
    audit.record(
        session,
        moderator,
        action,
        kind.name,
        item_id,
        reason=why,
        before={"status": seen_status},
        after=after,
    )
    if target != PUBLISHED:
        # « Déjà couvert » answers the reports too (often « ça existe déjà »): they close.
        close_reports(session, kind.name, item_id, "actioned")
    elif decision_name == "restore":
        # Restoring is the review the reports asked for: they close, so an item hidden by
        # reports is not hidden again by the next one (the threshold counts open reports).
        close_reports(session, kind.name, item_id, "dismissed")
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
        sweep = block_and_sweep(session, moderator, author, why, skip=(kind.name, item_id))
    session.refresh(item)
    comment = item if isinstance(item, Comment) else None
    if comment is None:
        events.announce(session, NeedStatusChanged(need, seen_status))
    else:
        session.refresh(need)
        if target == PUBLISHED:
            events.announce(session, CommentPublished(comment, need))
        if decision_name == "approve" and author is not None:
            # Published now: followers hear of it as of any new comment (the author of the
            # comment it answers too).
            parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
            notify_new_comment(session, need, comment, author, answered=parent)

    def message() -> str:  # in the author's language (app.board.notifications.Message)
        told = reason_text(reason, detail) if decision.needs_reason else why
        service = covered.name if covered else ""
        text = _(kind.messages[decision_name], title=need.title, reason=told, service=service)
        return text + sweep_sentence(sweep)

    notify_author(session, moderator, item.author_id, message, need=need, comment=comment)
    session.commit()
    return item


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
