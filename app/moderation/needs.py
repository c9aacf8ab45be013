"""A need as the moderation team sees it: loading it (and its comments) for moderation, the
reasons and the seen version the edit forms carry, and its file (status, comments, reports,
revisions, qualification). Rewriting a text is revisions.py, merging a duplicate merge.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board.comments import comments_with_authors
from app.board.models import (
    NEED_STATUS_LABELS,
    Comment,
    Need,
    OfflineCollection,
    Report,
)
from app.core.audit import AuditEntry
from app.moderation.models import Revision
from app.moderation.permissions import can_read_revisions, ensure_moderator
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.params import is_valid_id

REASON_MAX = 500


def get_need(session: Session, need_id: int) -> Need:
    need = session.get(Need, need_id) if is_valid_id(need_id) else None
    if need is None:
        raise NotFound(_("Ce besoin n'existe pas."))
    return need


def editable_need(session: Session, viewer: User, need_id: int) -> Need:
    """A need a moderator may rewrite: any that exists and was not deleted by its author."""
    ensure_moderator(viewer)
    need = get_need(session, need_id)
    if need.deleted_at is not None:
        raise NotFound(_("Ce besoin a été supprimé par son auteur·e."))
    return need


def editable_comment(session: Session, viewer: User, comment_id: int) -> Comment:
    ensure_moderator(viewer)
    return get_comment(session, comment_id)


def get_comment(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id) if is_valid_id(comment_id) else None
    if comment is None or comment.deleted_at is not None:
        raise NotFound(_("Ce commentaire n'existe pas ou a été supprimé."))
    return comment


def clean_reason(reason: str) -> str:
    """The edit's reason, told to the author: required, one line, at most 500 characters."""
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid(
            {"reason": _("Indiquez le motif de la modification : il sera expliqué à l'auteur·e.")}
        )
    if len(text) > REASON_MAX:
        raise Invalid(
            {"reason": _("Le motif doit faire au plus %(max)s caractères.", max=REASON_MAX)}
        )
    return text


def parse_seen(raw: str) -> datetime:
    """The `updated_at` the moderator saw, as the form carries it (ISO 8601)."""
    try:
        value = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Invalid(
            {"form": _("Le formulaire est incomplet : rechargez la page et recommencez.")}
        )
    return value


# --- the file -----------------------------------------------------------------------------------


@dataclass
class CommentRow:
    comment: Comment
    author: User | None
    revisions: int


@dataclass
class ReportRow:
    report: Report
    reporter: User | None


@dataclass
class NeedFile:
    need: Need
    author: User | None
    merged_into: Need | None
    merged_from: list[Need]
    reports: list[ReportRow]
    comments: list[CommentRow]
    revisions: list[Revision]  # of the need and of its comments, newest first
    revisions_readable: bool
    entries: list[AuditEntry]
    can_qualify: bool
    offline_people: int = 0  # people met offline (app.moderation.collections), public

    @property
    def status_label(self) -> str:
        return _(NEED_STATUS_LABELS.get(self.need.status, self.need.status))


def need_file(session: Session, viewer: User, need_id: int) -> NeedFile:
    ensure_moderator(viewer)
    need = get_need(session, need_id)
    comment_rows = comments_with_authors(session, need.id)  # type: ignore[arg-type]
    comment_ids = [c.id for c, _u in comment_rows]
    on_this = (Revision.target_kind == "need") & (Revision.target_id == need.id)
    if comment_ids:
        on_this = on_this | (
            (Revision.target_kind == "comment") & Revision.target_id.in_(comment_ids)  # type: ignore[attr-defined]
        )
    revisions = list(
        session.exec(select(Revision).where(on_this).order_by(Revision.id.desc()))  # type: ignore[union-attr]
    )
    per_comment: dict[int, int] = {}
    for revision in revisions:
        if revision.target_kind == "comment":
            per_comment[revision.target_id] = per_comment.get(revision.target_id, 0) + 1
    report_where = (Report.target_kind == "need") & (Report.target_id == need.id)
    if comment_ids:
        report_where = report_where | (
            (Report.target_kind == "comment") & Report.target_id.in_(comment_ids)  # type: ignore[attr-defined]
        )
    reports = [
        ReportRow(report, reporter)
        for report, reporter in session.exec(
            select(Report, User)
            .outerjoin(User, User.id == Report.reporter_id)  # type: ignore[arg-type]
            .where(Report.status == "open", report_where)
            .order_by(Report.created_at, Report.id)  # type: ignore[arg-type]
        ).all()
    ]
    merged_from = list(
        session.exec(
            select(Need).where(Need.merged_into_id == need.id).order_by(Need.id)  # type: ignore[arg-type]
        )
    )
    audit_where = (AuditEntry.target_kind == "need") & (AuditEntry.target_id == need.id)
    if comment_ids:
        audit_where = audit_where | (
            (AuditEntry.target_kind == "comment") & AuditEntry.target_id.in_(comment_ids)  # type: ignore[union-attr]
        )
    if merged_from:  # the merges into this need are recorded on their sources
        audit_where = audit_where | (
            (AuditEntry.action == "need.merge")
            & AuditEntry.target_id.in_([n.id for n in merged_from])  # type: ignore[union-attr]
        )
    entries = list(
        session.exec(
            select(AuditEntry)
            .where(audit_where)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())  # type: ignore[attr-defined]
            .limit(100)
        )
    )
    return NeedFile(
        need=need,
        author=session.get(User, need.author_id) if need.author_id else None,
        merged_into=session.get(Need, need.merged_into_id) if need.merged_into_id else None,
        merged_from=merged_from,
        reports=reports,
        comments=[CommentRow(c, u, per_comment.get(c.id, 0)) for c, u in comment_rows],  # type: ignore[arg-type]
        revisions=revisions,
        revisions_readable=can_read_revisions(viewer),
        entries=entries,
        can_qualify=viewer.has_role(Role.staff),
        offline_people=session.exec(
            select(func.coalesce(func.sum(OfflineCollection.people), 0)).where(
                OfflineCollection.need_id == need.id
            )
        ).one(),
    )
