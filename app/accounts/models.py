"""Account tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.core.db import ts_column, utcnow


class Role(StrEnum):
    """Roles are ordered: each one can do everything the previous ones can (SPEC §2)."""

    resident = "resident"
    moderator = "moderator"
    staff = "staff"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


def _user_fk(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased: e-mail addresses are compared case-insensitively everywhere.
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=60)
    # None for people who only sign in with e-mailed links.
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.resident.value, max_length=20)
    locale: str | None = Field(default=None, max_length=5)
    email_verified_at: datetime | None = Field(default=None, sa_column=ts_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=ts_column())
    blocked_at: datetime | None = Field(default=None, sa_column=ts_column())
    blocked_until: datetime | None = Field(default=None, sa_column=ts_column())
    blocked_reason: str | None = Field(default=None, max_length=500)
    # Trusted by a moderator (« valider et faire confiance »): their posts skip the queue.
    trusted_at: datetime | None = Field(default=None, sa_column=ts_column())

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def has_role(self, minimum: Role) -> bool:
        return self.role_enum.rank >= minimum.rank

    def is_blocked(self, now: datetime | None = None) -> bool:
        return blocked_now(self.blocked_at, self.blocked_until, now or utcnow())


def blocked_now(blocked_at: datetime | None, blocked_until: datetime | None, now: datetime) -> bool:
    """The rule of a block, for an account loaded or only its two columns: blocked since
    `blocked_at`, until `blocked_until` or for good."""
    return blocked_at is not None and (blocked_until is None or blocked_until > now)


def participates(
    email_verified_at: datetime | None,
    blocked_at: datetime | None,
    blocked_until: datetime | None,
    now: datetime,
) -> bool:
    """The rule of app.board.permissions.can_participate() on an account's columns (also
    for an account read as columns only): confirmed address, not blocked."""
    return email_verified_at is not None and not blocked_now(blocked_at, blocked_until, now)


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random token; only its hash is stored, so a
    leaked database cannot be replayed, and deleting rows signs people out."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_user_fk())
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    user_agent: str = Field(default="", max_length=300)


class TokenPurpose(StrEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"
    login_link = "login_link"


class EmailToken(SQLModel, table=True):
    """A single-use link sent by e-mail (verification, password reset, sign-in link)."""

    __tablename__ = "email_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_user_fk())
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=ts_column())


class ApiToken(SQLModel, table=True):
    """A personal API token. Shown once; the database keeps only its SHA-256."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_user_fk())
    label: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    # The first characters, so people can tell their tokens apart on the account page.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=ts_column())
    revoked_at: datetime | None = Field(default=None, sa_column=ts_column())


class LoginFailure(SQLModel, table=True):
    """One failed login. Throttling counts rows here, so the limit holds across workers."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_created_at", "email", "created_at"),
        Index("ix_login_failures_ip_created_at", "ip", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    ip: str = Field(max_length=45)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
