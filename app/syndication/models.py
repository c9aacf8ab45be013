"""Tables of the partner-facing side (issue 6): attribution counters and webhooks.

Attribution keeps only per-partner, per-day counters — never who visited, posted or supported —
so the figures staff see hold no personal data and need no consent banner (an audience
measurement limited to the fabrique's own statistics).

Webhook deliveries are an outbox, like e-mails (app/mail): a row is written in the same
transaction as the change it reports, then the background worker sends it, claims it with a
conditional UPDATE so two workers never send it twice, and retries with backoff.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class PartnerReferralDay(SQLModel, table=True):
    """What arrived through one partner's `ref=` links on one day (Europe/Paris day)."""

    __tablename__ = "partner_referrals"

    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    )
    day: date = Field(sa_column=Column(Date, primary_key=True))
    visits: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    needs_posted: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    supports: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class WebhookEvent(StrEnum):
    need_published = "need.published"
    need_status_changed = "need.status_changed"
    idea_stage_changed = "idea.stage_changed"
    # An idea the public can see appears (created public, or made public) or disappears.
    idea_published = "idea.published"
    idea_unpublished = "idea.unpublished"
    comment_published = "comment.published"


class DeliveryStatus(StrEnum):
    queued = "queued"  # waiting for its next attempt
    sending = "sending"  # claimed by a worker until locked_until
    delivered = "delivered"  # the endpoint answered 2xx
    failed = "failed"  # gave up (attempts exhausted, or refused address)


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    # Space-separated WebhookEvent values the endpoint subscribed to.
    events: str = Field(max_length=200)
    # Shown to staff so the receiving site can check the HMAC-SHA256 signature.
    secret: str = Field(max_length=80)
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    created_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )

    def event_list(self) -> list[str]:
        return [event for event in self.events.split() if event]


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(
        sa_column=Column(Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    event: str = Field(max_length=40)
    # The same for every attempt, so receivers can ignore a delivery they already handled.
    event_id: str = Field(max_length=36)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=DeliveryStatus.queued.value, max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
