"""Imports every domain's tables, so mappers and Alembic see the whole schema."""

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, EmailToken, LoginFailure, User, UserSession
from app.board.models import (
    Comment,
    Follow,
    Need,
    Notification,
    NotificationPreference,
    Report,
    Support,
    Territory,
    Theme,
)
from app.mail.models import OutboxMessage
from app.moderation.models import AuditEntry, NeedTag, Revision, Tag
from app.ratelimit import RateEvent
from app.site_config import SiteSetting

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Comment",
    "EmailToken",
    "Follow",
    "LoginFailure",
    "Need",
    "NeedTag",
    "Notification",
    "NotificationPreference",
    "OutboxMessage",
    "RateEvent",
    "Report",
    "Revision",
    "SiteSetting",
    "Support",
    "Tag",
    "Territory",
    "Theme",
    "User",
    "UserSession",
    "metadata",
]
