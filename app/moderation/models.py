"""The audit log: one row per moderator, staff or admin action, written in the same
transaction as the action, never edited (no code path updates or deletes a row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

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


class Revision(SQLModel, table=True):
    """The text of a need or comment as it was before a moderator edited it (shown to staff).
    One row per edit; the current text lives on the item itself."""

    __tablename__ = "revisions"
    __table_args__ = (
        Index("ix_revisions_target_kind_target_id_id", "target_kind", "target_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target_kind: str = Field(max_length=20)  # need, comment
    target_id: int
    editor_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    editor_name: str = Field(max_length=60)
    title: str | None = Field(default=None, max_length=140)  # needs only
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Tag(SQLModel, table=True):
    """A free qualification tag set by staff on needs (internal; autocomplete lists them)."""

    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=60)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class NeedTag(SQLModel, table=True):
    __tablename__ = "need_tags"
    __table_args__ = (Index("ix_need_tags_tag_id", "tag_id"),)

    need_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    tag_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
