"""The moderation queue: one list of what waits for a moderator, oldest first.

Three sources, merged into one entry per item:
- needs and comments waiting for approval (status pending), dated by their creation;
- reported needs, comments and accounts (at least one OPEN report), dated by their oldest open
  report, with the number of distinct reporters, the count per reason and who reported what.
  Items hidden automatically because of reports are among them (hidden, reports still open).

The ordering keys of every candidate are read first (ids and dates only, three small queries),
so the total is exact and only the page shown is loaded in full.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, text
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import (
    PENDING_WHERE,
    Comment,
    CommentStatus,
    Need,
    NeedStatus,
    Report,
    ReportReason,
)
from app.web.i18n import lazy_gettext as N_

PER_PAGE = 50

# The filter's names (the kind « account » is stored as target_kind « user » in reports).
KINDS = {"need": "need", "comment": "comment", "account": "user"}
REPORT_REASONS = tuple(r.value for r in ReportReason)


@dataclass
class QueueFilters:
    kind: str = ""  # "" or one of KINDS
    reason: str = ""  # "" or one of REPORT_REASONS
    page: int = 1


@dataclass
class Reporter:
    user_id: int
    name: str
    reason: str
    detail: str
    created_at: datetime


@dataclass
class QueueItem:
    kind: str  # need, comment, user
    id: int
    since: datetime  # creation (pending) or oldest open report (reported)
    pending: bool
    status: str = ""  # the status the moderator sees (sent back as seen_status)
    need: Need | None = None  # the need, or the need a comment belongs to
    comment: Comment | None = None
    account: User | None = None  # the reported account
    author: User | None = None  # who wrote the need or comment
    reporters: list[Reporter] = field(default_factory=list)
    reason_counts: dict[str, int] = field(default_factory=dict)
    last_report_id: int | None = None  # the newest open report seen (dismiss closes up to it)

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"

    @property
    def reported(self) -> bool:
        return bool(self.reporters)

    @property
    def reporter_count(self) -> int:
        return len({r.user_id for r in self.reporters})

    @property
    def missing(self) -> bool:
        """The reported item no longer exists (or was deleted): only « classer » remains."""
        if self.kind == "need":
            return self.need is None or self.need.deleted_at is not None
        if self.kind == "comment":
            return self.comment is None or self.comment.deleted_at is not None
        return self.account is None

    @property
    def bulk_value(self) -> str:
        return f"{self.kind}:{self.id}:{self.status}:{self.last_report_id or ''}"


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    filters: QueueFilters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


# Pending and not deleted, written out as the partial indexes of migration 0008 say it (the
# model's PENDING_WHERE, one definition for both): a planner matches a query to such an index
# only when the condition is literally there, never through a bound value.
_PENDING = text(PENDING_WHERE)


def _candidates(session: Session, filters: QueueFilters) -> dict[tuple[str, int], QueueItem]:
    wanted = KINDS.get(filters.kind) if filters.kind else None
    items: dict[tuple[str, int], QueueItem] = {}
    if not filters.reason:
        if wanted in (None, "need"):
            rows = session.exec(select(Need.id, Need.created_at).where(_PENDING))
            for need_id, created_at in rows:
                items[("need", need_id)] = QueueItem("need", need_id, created_at, pending=True)
        if wanted in (None, "comment"):
            rows = session.exec(select(Comment.id, Comment.created_at).where(_PENDING))
            for comment_id, created_at in rows:
                items[("comment", comment_id)] = QueueItem(
                    "comment", comment_id, created_at, pending=True
                )
    reported = select(Report.target_kind, Report.target_id, func.min(Report.created_at)).where(
        Report.status == "open"
    )
    if wanted:
        reported = reported.where(Report.target_kind == wanted)
    if filters.reason:
        reported = reported.where(Report.reason == filters.reason)
    for kind, target_id, oldest in session.exec(
        reported.group_by(Report.target_kind, Report.target_id)
    ):
        existing = items.get((kind, target_id))
        if existing is not None:
            existing.since = min(existing.since, oldest)
        else:
            items[(kind, target_id)] = QueueItem(kind, target_id, oldest, pending=False)
    return items


def _load_details(session: Session, items: list[QueueItem]) -> None:
    """Fills the page's items: their rows, authors and open reports (a few IN queries)."""
    by_kind: dict[str, list[int]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item.id)
    needs: dict[int, Need] = {}
    comments: dict[int, Comment] = {}
    if by_kind.get("comment"):
        comments = {
            c.id: c  # type: ignore[misc]
            for c in session.exec(select(Comment).where(Comment.id.in_(by_kind["comment"])))  # type: ignore[union-attr]
        }
    need_ids = set(by_kind.get("need", [])) | {c.need_id for c in comments.values()}
    if need_ids:
        needs = {
            n.id: n  # type: ignore[misc]
            for n in session.exec(select(Need).where(Need.id.in_(need_ids)))  # type: ignore[union-attr]
        }
    user_ids: set[int] = set(by_kind.get("user", []))
    user_ids |= {n.author_id for n in needs.values() if n.author_id}
    user_ids |= {c.author_id for c in comments.values() if c.author_id}
    reports: list[Report] = []
    reported_keys = [(i.kind, i.id) for i in items]
    if reported_keys:
        conditions: list[Any] = []
        for kind, ids in by_kind.items():
            conditions.append((Report.target_kind == kind) & Report.target_id.in_(ids))  # type: ignore[attr-defined]
        reports = list(
            session.exec(
                select(Report)
                .where(Report.status == "open", or_(*conditions))
                .order_by(Report.created_at, Report.id)  # type: ignore[arg-type]
            )
        )
    user_ids |= {r.reporter_id for r in reports}
    users = (
        {u.id: u for u in session.exec(select(User).where(User.id.in_(user_ids)))}  # type: ignore[union-attr]
        if user_ids
        else {}
    )
    reports_of: dict[tuple[str, int], list[Report]] = {}
    for report in reports:
        reports_of.setdefault((report.target_kind, report.target_id), []).append(report)
    for item in items:
        if item.kind == "need":
            item.need = needs.get(item.id)
            if item.need is not None:
                item.status = item.need.status
                item.author = users.get(item.need.author_id)  # type: ignore[arg-type]
        elif item.kind == "comment":
            item.comment = comments.get(item.id)
            if item.comment is not None:
                item.status = item.comment.status
                item.need = needs.get(item.comment.need_id)
                item.author = users.get(item.comment.author_id)  # type: ignore[arg-type]
        else:
            item.account = users.get(item.id)
            if item.account is not None:
                item.status = "blocked" if item.account.is_blocked() else "active"
        own = reports_of.get((item.kind, item.id), [])
        item.reporters = [
            Reporter(
                user_id=r.reporter_id,
                name=users[r.reporter_id].display_name if r.reporter_id in users else "?",
                reason=r.reason,
                detail=r.detail,
                created_at=r.created_at,
            )
            for r in own
        ]
        item.reason_counts = dict(Counter(r.reason for r in own).most_common())
        item.last_report_id = max((r.id for r in own), default=None)  # type: ignore[type-var]


def queue_total(session: Session, filters: QueueFilters) -> int:
    """How many items wait under these filters (what the queue's counter says)."""
    return len(_candidates(session, filters))


def queue_page(session: Session, filters: QueueFilters) -> QueuePage:
    """The items of one page of the queue, oldest first, and the total for these filters."""
    candidates = sorted(
        _candidates(session, filters).values(), key=lambda i: (i.since, i.kind, i.id)
    )
    start = (filters.page - 1) * PER_PAGE
    page = candidates[start : start + PER_PAGE]
    _load_details(session, page)
    return QueuePage(items=page, total=len(candidates), filters=filters)


def load_item(session: Session, kind: str, item_id: int) -> QueueItem | None:
    """One item as the queue shows it (after a decision), or None when nothing about it waits
    any more (neither pending nor reported)."""
    if kind == "need":
        row = session.get(Need, item_id)
        pending = row is not None and row.status == NeedStatus.pending.value
        since = row.created_at if row else None
    elif kind == "comment":
        row = session.get(Comment, item_id)  # type: ignore[assignment]
        pending = row is not None and row.status == CommentStatus.pending.value
        since = row.created_at if row else None
    else:
        pending, since = False, None
    if pending and row is not None and row.deleted_at is not None:
        pending = False
    oldest = session.exec(
        select(func.min(Report.created_at)).where(
            Report.status == "open", Report.target_kind == kind, Report.target_id == item_id
        )
    ).one()
    if not pending and oldest is None:
        return None
    when = min(d for d in (since if pending else None, oldest) if d is not None)
    item = QueueItem(kind, item_id, when, pending=pending)
    _load_details(session, [item])
    return item


def _count_pending(model: type[Need] | type[Comment]) -> Any:
    """COUNT of the pending rows, read from their partial index (migration 0008). In the order
    of that index: a plain COUNT with the same condition made SQLite's planner read the status
    index and every pending row of the table (1.8 ms against 0.15 at 100,000 needs) whatever
    the statistics said; PostgreSQL reads the index either way."""
    ordered = (
        select(model.id)
        .where(_PENDING)
        .order_by(model.created_at, model.id)  # type: ignore[arg-type]
        .subquery()
    )
    return select(func.count()).select_from(ordered)


def _reported_items(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(
            select(Report.target_kind, Report.target_id)
            .where(Report.status == "open")
            .group_by(Report.target_kind, Report.target_id)
            .subquery()
        )
    ).one()


def waiting_total(session: Session) -> int:
    """What waits for a moderator: pending needs and comments, and reported items (the
    header's count for the team; an item both pending and reported counts twice)."""
    return (
        session.exec(_count_pending(Need)).one()
        + session.exec(_count_pending(Comment)).one()
        + _reported_items(session)
    )


def counts(session: Session) -> dict[str, int]:
    """For the dashboard: pending needs, pending comments, reported items."""
    pending_needs = session.exec(_count_pending(Need)).one()
    pending_comments = session.exec(_count_pending(Comment)).one()
    reported = _reported_items(session)
    open_reports = session.exec(select(func.count()).where(Report.status == "open")).one()
    return {
        "pending_needs": pending_needs,
        "pending_comments": pending_comments,
        "reported_items": reported,
        "open_reports": open_reports,
    }


# Short labels for the filter and the per-reason counts (the report form words them at length).
REPORT_REASON_LABELS = {
    ReportReason.spam.value: N_("Spam ou publicité"),
    ReportReason.abusive.value: N_("Propos injurieux"),
    ReportReason.personal_data.value: N_("Données personnelles"),
    ReportReason.off_topic.value: N_("Hors sujet"),
    ReportReason.other.value: N_("Autre raison"),
}
KIND_LABELS = {
    "need": N_("Besoins"),
    "comment": N_("Commentaires"),
    "account": N_("Comptes"),
}
