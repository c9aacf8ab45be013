"""Moderation's tables: revisions of edited texts, tags on needs. (The audit log, which every
layer writes, is app/core/audit.py.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


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
