"""Background work run by `bourse worker` (and by the development server in a thread):
deliver the e-mail outbox and the webhook outbox every few seconds, and purge what has
outlived its purpose.

Retention (stated on the privacy page): failed logins 15 minutes (the throttling window),
sessions until they expire (30 days), e-mailed links one day after expiry, sent or abandoned
e-mails 30 days, delivered or abandoned webhook deliveries 30 days, rate-limit events once
older than the longest rate-limit window (one day) — the same table also holds the marks of
forms already used (app.web.antiabuse, one day) and of partner arrivals already counted
(app.syndication.attribution, at most a day), each kept at least as long as its own window.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import EmailToken, LoginFailure, UserSession
from app.accounts.service import THROTTLE_WINDOW
from app.board.digest import send_daily_digest
from app.board.models import Notification
from app.core.db import utcnow
from app.core.ratelimit import LONGEST_WINDOW, RateEvent
from app.core.settings import Settings
from app.mail.models import MailStatus, OutboxMessage
from app.mail.worker import deliver_due, transport_for
from app.syndication import attribution, webhook_delivery
from app.syndication.models import DeliveryStatus, WebhookDelivery
from app.web.antiabuse import MAX_FORM_AGE

log = logging.getLogger(__name__)

EMAIL_TOKEN_GRACE = timedelta(days=1)
OUTBOX_RETENTION = timedelta(days=30)
# Long enough for staff to read why an endpoint failed, short enough not to keep payloads.
WEBHOOK_DELIVERY_RETENTION = timedelta(days=30)
# In-app notifications are a recent-activity list, not an archive.
NOTIFICATION_RETENTION = timedelta(days=180)
# rate_events rows: rate-limit events, used form values, counted arrivals. Purged only past the
# longest of their windows, or a replayed form value or a repeated arrival would pass again.
RATE_EVENT_RETENTION = max(
    LONGEST_WINDOW,
    MAX_FORM_AGE,
    attribution.ADDRESS_WINDOW,
    timedelta(minutes=attribution.VISIT_MINUTES),
)
PURGE_EVERY = 600.0  # seconds
DIGEST_EVERY = 3600.0  # seconds


def purge_expired(engine: Engine, settings: Settings | None = None) -> dict[str, int]:
    """Deletes what is past its retention (stated on the privacy page); `settings` gives how
    long the anti-abuse records stay (BOURSE_RATE_EVENTS_DAYS, never less than their longest
    window)."""
    now = utcnow()
    rate_events = RATE_EVENT_RETENTION
    if settings is not None:
        rate_events = max(rate_events, timedelta(days=settings.rate_events_days))
    statements = {
        "notifications": delete(Notification).where(
            Notification.created_at < now - NOTIFICATION_RETENTION  # type: ignore[operator]
        ),
        "login_failures": delete(LoginFailure).where(
            LoginFailure.created_at < now - THROTTLE_WINDOW  # type: ignore[operator]
        ),
        "user_sessions": delete(UserSession).where(UserSession.expires_at < now),  # type: ignore[operator]
        "email_tokens": delete(EmailToken).where(
            EmailToken.expires_at < now - EMAIL_TOKEN_GRACE  # type: ignore[operator]
        ),
        "outbox_messages": delete(OutboxMessage).where(
            OutboxMessage.status.in_([MailStatus.sent.value, MailStatus.failed.value]),  # type: ignore[attr-defined]
            OutboxMessage.created_at < now - OUTBOX_RETENTION,  # type: ignore[operator]
        ),
        "webhook_deliveries": delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(  # type: ignore[attr-defined]
                [DeliveryStatus.delivered.value, DeliveryStatus.failed.value]
            ),
            WebhookDelivery.created_at < now - WEBHOOK_DELIVERY_RETENTION,  # type: ignore[operator]
        ),
        # Past the longest window a rate event no longer counts towards any limit.
        "rate_events": delete(RateEvent).where(
            RateEvent.created_at < now - rate_events  # type: ignore[operator]
        ),
    }
    counts = {}
    with Session(engine) as session:
        for name, statement in statements.items():
            counts[name] = session.exec(statement).rowcount or 0  # type: ignore[call-overload]
        session.commit()
    return counts


def run_forever(
    engine: Engine, settings: Settings, stop: threading.Event, interval: float = 2.0
) -> None:
    transport = transport_for(settings)
    next_purge = 0.0
    next_digest = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_digest:
                # Each person's digest goes out once their oldest waiting daily notification
                # is a day old (see app.board.notifications): checking hourly is enough.
                digests = send_daily_digest(engine, settings)
                if digests:
                    log.info("queued %s daily digest e-mail(s)", digests)
                next_digest = time.monotonic() + DIGEST_EVERY
            deliver_due(engine, settings, transport)
        except Exception:
            log.exception("background round failed; retrying")
        # Separately, so a failing partner endpoint never holds up the e-mails, nor the reverse.
        try:
            webhook_delivery.deliver_due(engine, settings)
        except Exception:
            log.exception("webhook delivery round failed; retrying")
        try:
            if time.monotonic() >= next_purge:
                removed = purge_expired(engine, settings)
                if any(removed.values()):
                    log.info("purged expired rows: %s", removed)
                next_purge = time.monotonic() + PURGE_EVERY
        except Exception:
            log.exception("purge failed; retrying")
        stop.wait(interval)
