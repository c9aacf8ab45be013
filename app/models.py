"""Imports every domain's tables, so mappers and Alembic see the whole schema."""

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, EmailToken, LoginFailure, User, UserSession
from app.board.models import (
    Comment,
    Follow,
    Need,
    Notification,
    NotificationPreference,
    OfflineCollection,
    Report,
    Support,
    Territory,
    Theme,
)
from app.core.audit import AuditEntry
from app.core.ratelimit import RateEvent
from app.core.site_config import SiteSetting
from app.mail.models import OutboxMessage
from app.moderation.models import NeedTag, Revision, Tag
from app.pipeline.models import (
    CarrierApplication,
    CarrierInvitation,
    CarrierProfile,
    CarrierProposal,
    Idea,
    IdeaComment,
    IdeaDocument,
    IdeaNeed,
    IdeaPartner,
    Milestone,
    Partner,
    StageChange,
)
from app.syndication.models import PartnerReferralDay, Webhook, WebhookDelivery

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "CarrierApplication",
    "CarrierInvitation",
    "CarrierProfile",
    "CarrierProposal",
    "Comment",
    "EmailToken",
    "Follow",
    "Idea",
    "IdeaComment",
    "IdeaDocument",
    "IdeaNeed",
    "IdeaPartner",
    "LoginFailure",
    "Milestone",
    "Need",
    "NeedTag",
    "Notification",
    "NotificationPreference",
    "OfflineCollection",
    "OutboxMessage",
    "Partner",
    "PartnerReferralDay",
    "RateEvent",
    "Report",
    "Revision",
    "SiteSetting",
    "StageChange",
    "Support",
    "Tag",
    "Territory",
    "Theme",
    "User",
    "UserSession",
    "Webhook",
    "WebhookDelivery",
    "metadata",
]
