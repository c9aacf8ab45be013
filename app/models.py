"""Imports every domain's tables, so mappers and Alembic see the whole schema."""

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, EmailToken, LoginFailure, User, UserSession
from app.board.models import Territory, Theme
from app.mail.models import OutboxMessage

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "EmailToken",
    "LoginFailure",
    "OutboxMessage",
    "Territory",
    "Theme",
    "User",
    "UserSession",
    "metadata",
]
