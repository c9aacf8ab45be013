"""Helpers for the queue and decision tests: comments and reports inserted directly."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, func, select

from app.board.models import Comment, Need, Notification, Report
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.core.text import render_markdown


def make_comment(
    session: Session,
    need: Need,
    author: Any,
    *,
    status: str = "published",
    body: str = "Un commentaire pour les tests.",
    parent: Comment | None = None,
    created_at: Any = None,
) -> Comment:
    """A comment; a published one is counted on its need, as the board does."""
    when = created_at or utcnow()
    comment = Comment(
        need_id=need.id,  # type: ignore[arg-type]
        author_id=author.id,
        parent_id=parent.id if parent else None,
        body=body,
        body_html=render_markdown(body),
        status=status,
        created_at=when,
        updated_at=when,
    )
    session.add(comment)
    if status == "published":
        need = session.get(Need, need.id)  # type: ignore[assignment]
        need.comments_count += 1
        session.add(need)
    session.commit()
    session.refresh(comment)
    return comment


def make_report(
    session: Session,
    reporter: Any,
    kind: str,
    target_id: int,
    *,
    reason: str = "spam",
    detail: str = "",
    created_at: Any = None,
    status: str = "open",
) -> Report:
    report = Report(
        reporter_id=reporter.id,
        target_kind=kind,
        target_id=target_id,
        reason=reason,
        detail=detail,
        status=status,
        created_at=created_at or utcnow(),
    )
    session.add(report)
    session.commit()
    session.refresh(report)
    return report


def count(session: Session, model: Any, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def audit_actions(session: Session) -> list[tuple[str, str, int | None]]:
    rows = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    return [(e.action, e.target_kind, e.target_id) for e in rows]


def notes_for(session: Session, user: Any) -> list[Notification]:
    return list(
        session.exec(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)  # type: ignore[arg-type]
        )
    )
