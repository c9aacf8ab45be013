"""Board tables. For now the reference lists that needs are filed under."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


class _Category(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    # A slug in URLs, feeds and partners' embed codes: once used it never changes.
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=80)  # French, the interface's first language
    name_en: str | None = Field(default=None, max_length=80)
    position: int = Field(default=0)


class Theme(_Category, table=True):
    __tablename__ = "themes"

    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Territory(_Category, table=True):
    __tablename__ = "territories"

    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
