"""Decisions on reports: « classer » closes the open reports of an item as dismissed, and an
item hidden only because of its reports comes back (see decisions.py for the rule: its latest
status decision in the audit log is not a moderator's hide or reject)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.comments import change_comment_count
from app.board.events import CommentPublished, NeedStatusChanged
from app.board.models import Comment, Need, Report
from app.core import audit, events
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation.decisions import (
    COMMENT_MESSAGES,
    COVERED,
    HIDDEN,
    MESSAGES,
    MODERATOR_HIDING_ACTIONS,
    PUBLISHED,
    RESTORED_AFTER_REPORTS,
    STATUS_ACTIONS,
    conflict,
    notify_author,
)
from app.moderation.permissions import ensure_moderator
from app.web.errors import NotFound
from app.web.i18n import gettext as _

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
    notify_author(
        session,
        moderator,
        item.author_id,
        lambda: _(template, title=title, reason=""),  # in the author's language
        need=need,
        comment=comment,
    )
    return True
