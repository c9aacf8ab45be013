"""The accounts as the moderation team reads them: the search over accounts, and one
account's page (what the person wrote, what they reported and what was reported of them, what
the team did to the account). The actions on an account are accounts.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Comment, Need, Report
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation.accounts import DETAIL_LIMIT, PER_PAGE, get_account
from app.moderation.permissions import can_see_emails, is_active_moderator
from app.web.errors import Forbidden
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.urls import need_url

# --- search ----------------------------------------------------------------------------------


BLOCKED_FILTERS = ("", "yes", "no")


@dataclass
class AccountFilters:
    q: str = ""
    role: str = ""
    blocked: str = ""  # "yes": blocked now; "no": not blocked now
    page: int = 1


@dataclass
class AccountRow:
    user: User
    needs: int
    comments: int

    @property
    def blocked(self) -> bool:
        return self.user.is_blocked()


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _blocked_now(now: datetime) -> Any:
    return (User.blocked_at.is_not(None)) & (  # type: ignore[union-attr]
        User.blocked_until.is_(None) | (User.blocked_until > now)  # type: ignore[union-attr,operator]
    )


def search_accounts(
    session: Session, viewer: User, filters: AccountFilters
) -> tuple[list[AccountRow], bool]:
    """Accounts matching the filters, newest first, a page at a time (with whether another
    page follows). The name matches for everyone; the e-mail only for staff and admins."""
    needs = (
        select(func.count(Need.id))
        .where(Need.author_id == User.id)
        .correlate(User)
        .scalar_subquery()  # type: ignore[arg-type]
    )
    comments = (
        select(func.count(Comment.id))  # type: ignore[arg-type]
        .where(Comment.author_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    statement = select(User, needs, comments)
    # Control characters (NUL, which PostgreSQL refuses) can be in no name or address.
    q = " ".join("".join(c for c in filters.q if c.isprintable()).split())[:100]
    if q:
        pattern = _like(q)
        matches = [func.lower(User.display_name).like(pattern, escape="\\")]
        if can_see_emails(viewer):
            matches.append(func.lower(User.email).like(pattern, escape="\\"))
        statement = statement.where(or_(*matches))
    if filters.role:
        statement = statement.where(User.role == filters.role)
    now = utcnow()
    if filters.blocked == "yes":
        statement = statement.where(_blocked_now(now))
    elif filters.blocked == "no":
        statement = statement.where(~_blocked_now(now))
    statement = (
        statement.order_by(User.created_at.desc(), User.id.desc())  # type: ignore[union-attr,attr-defined]
        .offset((filters.page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    )
    rows = [AccountRow(user, n, c) for user, n, c in session.exec(statement)]
    return rows[:PER_PAGE], len(rows) > PER_PAGE


# --- one account's page ----------------------------------------------------------------------


@dataclass
class ReportLine:
    report: Report
    reporter: User | None
    label: str  # what was reported, in words
    url: str | None


@dataclass
class AccountDetail:
    user: User
    needs: list[Need]
    needs_total: int
    comments: list[tuple[Comment, Need]]
    comments_total: int
    reports_made: list[ReportLine]
    reports_received: list[ReportLine]
    audit_entries: list[AuditEntry]


def _count(session: Session, statement: Any) -> int:
    return session.exec(select(func.count()).select_from(statement.subquery())).one()


def _report_lines(session: Session, reports: list[Report]) -> list[ReportLine]:
    """Each report with its reporter and a link to what it is about (three lookups)."""
    need_ids = {r.target_id for r in reports if r.target_kind == "need"}
    comment_ids = {r.target_id for r in reports if r.target_kind == "comment"}
    user_ids = {r.target_id for r in reports if r.target_kind == "user"}
    user_ids |= {r.reporter_id for r in reports}
    comments_ = (
        {c.id: c for c in session.exec(select(Comment).where(Comment.id.in_(comment_ids)))}  # type: ignore[union-attr]
        if comment_ids
        else {}
    )
    need_ids |= {c.need_id for c in comments_.values()}
    needs = (
        {n.id: n for n in session.exec(select(Need).where(Need.id.in_(need_ids)))}  # type: ignore[union-attr]
        if need_ids
        else {}
    )
    users = (
        {u.id: u for u in session.exec(select(User).where(User.id.in_(user_ids)))}  # type: ignore[union-attr]
        if user_ids
        else {}
    )
    lines = []
    for report in reports:
        label, url = _("élément supprimé"), None
        if report.target_kind == "need" and report.target_id in needs:
            need = needs[report.target_id]
            label = _("le besoin « %(title)s »", title=need.title)
            url = need_url(need)
        elif report.target_kind == "comment" and report.target_id in comments_:
            comment = comments_[report.target_id]
            need = needs.get(comment.need_id)
            label = _("un commentaire sur « %(title)s »", title=need.title if need else "?")
            url = f"{need_url(need)}#comment-{comment.id}" if need else None
        elif report.target_kind == "user" and report.target_id in users:
            target = users[report.target_id]
            label = _("le compte %(name)s", name=target.display_name)
            url = f"/moderation/accounts/{target.id}"
        lines.append(ReportLine(report, users.get(report.reporter_id), label, url))
    return lines


def _latest(session: Session, model: Any, condition: Any) -> list[Any]:
    """The DETAIL_LIMIT newest rows (reports, audit entries) meeting `condition`."""
    return list(
        session.exec(
            select(model)
            .where(condition)
            .order_by(model.created_at.desc(), model.id.desc())
            .limit(DETAIL_LIMIT)
        )
    )


def _about_account(model: Any, user: User, own_needs: Any, own_comments: Any) -> Any:
    """Rows (reports, audit entries) whose target is the account or what it wrote."""
    return or_(
        (model.target_kind == "user") & (model.target_id == user.id),
        (model.target_kind == "need") & model.target_id.in_(own_needs),
        (model.target_kind == "comment") & model.target_id.in_(own_comments),
    )


def account_detail(session: Session, viewer: User, user_id: int) -> AccountDetail:
    """Everything a moderator needs to judge an account: its content in every status, the
    reports it made and received (on it and on its content), and the log of decisions on it
    and on its content."""
    if not is_active_moderator(viewer):
        raise Forbidden()
    user = get_account(session, user_id)
    needs_q = select(Need).where(Need.author_id == user.id)
    needs = list(
        session.exec(needs_q.order_by(Need.created_at.desc(), Need.id.desc()).limit(DETAIL_LIMIT))  # type: ignore[attr-defined,union-attr]
    )
    comments_q = select(Comment, Need).join(Need, Need.id == Comment.need_id)  # type: ignore[arg-type]
    comments_q = comments_q.where(Comment.author_id == user.id)
    comments = [
        (c, n)
        for c, n in session.exec(
            comments_q.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(DETAIL_LIMIT)  # type: ignore[attr-defined,union-attr]
        )
    ]
    own_needs = select(Need.id).where(Need.author_id == user.id)
    own_comments = select(Comment.id).where(Comment.author_id == user.id)
    made = _latest(session, Report, Report.reporter_id == user.id)
    received = _latest(session, Report, _about_account(Report, user, own_needs, own_comments))
    entries = _latest(
        session, AuditEntry, _about_account(AuditEntry, user, own_needs, own_comments)
    )
    return AccountDetail(
        user=user,
        needs=needs,
        needs_total=_count(session, needs_q),
        comments=comments,
        comments_total=_count(session, select(Comment.id).where(Comment.author_id == user.id)),
        reports_made=_report_lines(session, made),
        reports_received=_report_lines(session, received),
        audit_entries=entries,
    )


NEED_STATUS_LABELS = {
    "pending": N_("En attente"),
    "published": N_("Publié"),
    "hidden": N_("Masqué"),
    "rejected": N_("Refusé"),
    "covered": N_("Déjà couvert"),
    "merged": N_("Fusionné"),
}
REPORT_STATUS_LABELS = {
    "open": N_("Ouvert"),
    "dismissed": N_("Écarté"),
    "actioned": N_("Suivi d'une décision"),
}
