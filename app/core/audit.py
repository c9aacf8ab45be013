"""The audit log (SPEC §2: who, when, what, why, before and after): one row per moderator,
staff or admin action, or automatic decision, written in the same transaction as the action and
never edited (no code path updates or deletes a row).

`record()` only adds the row to the caller's session: the action and its audit entry commit
together or not at all. Every layer that acts records here (the board's automatic hides, the
pipeline's stages, moderation's decisions), so the log sits in core. Reading is for admins and,
read-only, for staff (app/moderation/admin_routes.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, Session, SQLModel, select

from app.core.db import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_created_at_id", "created_at", "id"),
        Index("ix_audit_entries_actor_id_created_at", "actor_id", "created_at"),
        Index("ix_audit_entries_target_kind_target_id", "target_kind", "target_id"),
        Index("ix_audit_entries_action", "action"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # SET NULL: the log outlives the accounts it mentions; actor_name keeps who it was.
    actor_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    actor_name: str = Field(max_length=60)
    action: str = Field(max_length=40)  # e.g. need.hide, comment.restore, user.block
    target_kind: str = Field(max_length=20)  # need, comment, user, idea, setting…
    target_id: int | None = Field(default=None)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Actor(Protocol):
    """Who acts: an account (app.accounts.models.User) as the log needs it."""

    id: int | None
    display_name: str


PER_PAGE = 50
# Who did it when nobody did: automatic decisions (auto-hide after N reports, blocked words).
# Stored as written (the log keeps names, not translations).
SYSTEM_ACTOR_NAME = "Automatique"


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        key: value.isoformat() if isinstance(value, datetime | date) else value
        for key, value in values.items()
    }


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    target_kind: str,
    target_id: int | None,
    *,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Adds an audit entry to the current transaction (the caller commits with its action).
    `actor` None is the application itself (an automatic rule), logged as « Automatique »."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.display_name[:60] if actor is not None else SYSTEM_ACTOR_NAME,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    session.add(entry)
    return entry


@dataclass
class AuditFilters:
    actor: int | None = None
    action: str = ""
    target_kind: str = ""
    target_id: int | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1


def _filtered(filters: AuditFilters):  # type: ignore[no-untyped-def]
    statement = select(AuditEntry)
    if filters.actor is not None:
        statement = statement.where(AuditEntry.actor_id == filters.actor)
    if filters.action:
        statement = statement.where(AuditEntry.action == filters.action)
    if filters.target_kind:
        statement = statement.where(AuditEntry.target_kind == filters.target_kind)
    if filters.target_id is not None:
        statement = statement.where(AuditEntry.target_id == filters.target_id)
    if filters.since is not None:
        start = datetime.combine(filters.since, time.min, tzinfo=UTC)
        statement = statement.where(AuditEntry.created_at >= start)  # type: ignore[operator]
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=UTC)
        statement = statement.where(AuditEntry.created_at < end)  # type: ignore[operator]
    return statement.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())  # type: ignore[attr-defined]


def list_entries(session: Session, filters: AuditFilters) -> tuple[list[AuditEntry], bool]:
    rows = list(
        session.exec(_filtered(filters).offset((filters.page - 1) * PER_PAGE).limit(PER_PAGE + 1))
    )
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def known_actions(session: Session) -> list[str]:
    return sorted(session.exec(select(AuditEntry.action).distinct()))


CSV_COLUMNS = [
    "id",
    "created_at",
    "actor_id",
    "actor_name",
    "action",
    "target_kind",
    "target_id",
    "reason",
    "before",
    "after",
]


def export_csv(session: Session, filters: AuditFilters) -> Iterable[str]:
    """The filtered log as CSV, streamed in chunks (the log only grows)."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in session.exec(_filtered(filters).execution_options(yield_per=500)):
        writer.writerow(
            [
                entry.id,
                entry.created_at.isoformat(),
                entry.actor_id or "",
                _safe_cell(entry.actor_name),
                entry.action,
                entry.target_kind,
                entry.target_id or "",
                _safe_cell(entry.reason),
                json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else "",
                json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else "",
            ]
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _safe_cell(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
