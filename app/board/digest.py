"""The daily digest: one e-mail per person grouping their waiting `daily` notifications, once
the oldest of them is 24 hours old (see app/board/notifications.py for the whole story). The
background job runs `send_daily_digest()` every hour; rows are claimed with a conditional
UPDATE before the e-mail is queued, so several workers never send a digest twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import EmailMode, Notification, NotificationPreference
from app.board.notifications import (
    DEFAULT_EMAIL_MODES,
    DIGEST,
    can_receive_email,
    notification_views,
)
from app.board.unsubscribe import unsubscribe_path
from app.core.db import utcnow
from app.core.settings import Settings
from app.mail.service import queue_mail
from app.web.i18n import lazy_gettext as N_

log = logging.getLogger(__name__)

DIGEST_SUBJECT = N_("Votre résumé quotidien de la Bourse à initiatives")
DIGEST_DELAY = timedelta(hours=24)
# Waiting notifications older than this are never e-mailed (switching a kind from « none » to
# « daily » must not send a month of history; a worker down for days does not flood either).
DIGEST_LOOKBACK = timedelta(days=7)
DIGEST_MAX_ITEMS = 50


def _daily_mode_clause() -> Any:
    default = case(DEFAULT_EMAIL_MODES, value=Notification.kind, else_=EmailMode.immediate.value)
    return func.coalesce(NotificationPreference.email_mode, default) == EmailMode.daily.value


def _waiting_daily(now: datetime) -> list[Any]:
    return [
        Notification.emailed_at.is_(None),  # type: ignore[union-attr]
        Notification.read_at.is_(None),  # type: ignore[union-attr]
        Notification.created_at > now - DIGEST_LOOKBACK,  # type: ignore[operator]
        _daily_mode_clause(),
    ]


def _with_preference(statement: Any) -> Any:
    return statement.outerjoin(
        NotificationPreference,
        and_(
            NotificationPreference.user_id == Notification.user_id,
            NotificationPreference.kind == Notification.kind,
        ),
    )


def send_daily_digest(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Queues one digest e-mail per person whose oldest waiting daily notification is at least
    DIGEST_DELAY old, grouping all their waiting daily notifications (read ones are skipped:
    they have been seen). Returns the number of e-mails queued."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        session.info["settings"] = settings
        due = session.exec(
            _with_preference(select(Notification.user_id))
            .where(*_waiting_daily(now))
            .group_by(Notification.user_id)
            .having(func.min(Notification.created_at) <= now - DIGEST_DELAY)
        ).all()
        sent = 0
        for user_id in due:
            try:
                sent += _send_digest_to(session, user_id, now, settings)
            except Exception:
                session.rollback()
                log.exception("daily digest for user %s failed", user_id)
        return sent


def _send_digest_to(session: Session, user_id: int, now: datetime, settings: Settings) -> int:
    ids = list(
        session.exec(
            _with_preference(select(Notification.id)).where(
                Notification.user_id == user_id, *_waiting_daily(now)
            )
        )
    )
    if not ids:
        return 0
    claimed = session.exec(  # type: ignore[call-overload]
        update(Notification)
        .where(Notification.id.in_(ids), Notification.emailed_at.is_(None))  # type: ignore[union-attr]
        .values(emailed_at=now)
    )
    if (claimed.rowcount or 0) != len(ids):
        # Another worker is sending this digest.
        session.rollback()
        return 0
    user = session.get(User, user_id)
    items = []
    if user is not None:
        items = [
            item
            for item in notification_views(
                session,
                user,
                Notification.id.in_(ids),
                limit=DIGEST_MAX_ITEMS,  # type: ignore[union-attr]
            )
            if item.need_title is not None or item.message
        ]
    if user is None or not items or not can_receive_email(user):
        session.commit()  # marked as handled: nothing worth sending
        return 0
    queue_mail(
        session,
        to=user.email,
        subject=DIGEST_SUBJECT,
        template="mail/digest.txt",
        context={
            "user": user,
            "items": list(reversed(items)),  # oldest first reads like a story
            "more": max(0, len(ids) - DIGEST_MAX_ITEMS),
            "unsubscribe_path": unsubscribe_path(settings, user_id, DIGEST),
        },
        locale=user.locale,
    )
    session.commit()
    return 1
