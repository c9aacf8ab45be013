"""The background job purges what has outlived its purpose, and only that."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from app.accounts import links, service
from app.accounts.models import EmailToken, LoginFailure, UserSession
from app.board.models import Notification
from app.core.db import utcnow
from app.core.ratelimit import LONGEST_WINDOW, RateEvent
from app.mail.models import MailStatus, OutboxMessage
from app.ops.cli import main as cli_main
from app.ops.jobs import purge_expired
from tests.factories import make_user


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_purge_removes_expired_rows_and_keeps_live_ones(app, session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    user = make_user(session)
    service.start_session(session, user)  # live
    session.add(
        UserSession(user_id=user.id, token_hash="x" * 64, expires_at=now - timedelta(seconds=1))
    )
    session.add(
        LoginFailure(email="a@exemple.fr", ip="1.2.3.4", created_at=now - timedelta(minutes=16))
    )
    session.add(
        LoginFailure(email="a@exemple.fr", ip="1.2.3.4", created_at=now - timedelta(minutes=5))
    )
    session.add(
        EmailToken(
            user_id=user.id,
            purpose="verify_email",
            token_hash="y" * 64,
            expires_at=now - timedelta(days=2),
        )
    )
    session.add(
        EmailToken(
            user_id=user.id,
            purpose="verify_email",
            token_hash="z" * 64,
            expires_at=now + timedelta(hours=1),
        )
    )
    old = now - timedelta(days=31)
    for status, created_at in [
        (MailStatus.sent, old),
        (MailStatus.queued, old),
        (MailStatus.sent, now),
    ]:
        session.add(
            OutboxMessage(
                to_address="a@exemple.fr",
                subject="s",
                body_text="b",
                status=status.value,
                created_at=created_at,
            )
        )
    session.add(
        RateEvent(key="need:user:1", created_at=now - LONGEST_WINDOW - timedelta(minutes=1))
    )
    session.add(RateEvent(key="need:user:1", created_at=now - timedelta(minutes=5)))
    session.add(Notification(user_id=user.id, kind="comment", created_at=now - timedelta(days=181)))
    session.add(Notification(user_id=user.id, kind="comment", created_at=now - timedelta(days=179)))
    session.commit()

    removed = purge_expired(app.state.engine)

    assert removed == {
        "login_failures": 1,
        "user_sessions": 1,
        "email_tokens": 1,
        "outbox_messages": 1,
        "rate_events": 1,
        "notifications": 1,
        "webhook_deliveries": 0,
    }
    session.expire_all()
    assert _count(session, UserSession) == 1
    assert _count(session, LoginFailure) == 1
    assert _count(session, EmailToken) == 1
    # A queued message is never purged, however old: it has not been delivered yet.
    assert _count(session, OutboxMessage) == 2
    # A recent rate event still counts towards a limit: it stays.
    assert _count(session, RateEvent) == 1
    assert _count(session, Notification) == 1


def test_worker_once_delivers_and_purges(app, session, settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOURSE_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("BOURSE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BOURSE_ENV", "test")
    links.request_password_reset(session, "inconnue@exemple.fr", "fr")
    assert cli_main(["worker", "--once"]) == 0
    assert "1 message(s) envoyé(s)" in capsys.readouterr().out
    assert len(list((settings.data_dir / "outbox").glob("*.eml"))) == 1
