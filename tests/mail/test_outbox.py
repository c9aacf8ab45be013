"""The e-mail outbox: queued in the caller's transaction, each message sent once, failures
retried with backoff until they are given up, and every e-mail in its recipient's language."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func
from sqlmodel import Session, select

from app.core.db import utcnow
from app.mail import worker
from app.mail.models import MailStatus, OutboxMessage
from app.mail.service import queue_mail
from app.web import i18n, templating
from tests.factories import post_form


class Clock:
    """The worker's idea of now, moved by hand instead of waiting."""

    def __init__(self) -> None:
        # A little ahead of the wall clock, so messages queued during the test are already due.
        self.now = utcnow() + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[int, EmailMessage]] = []
        self._lock = threading.Lock()

    def send(self, message: EmailMessage, outbox_id: int) -> None:
        with self._lock:
            self.sent.append((outbox_id, message))


class FailingTransport:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: EmailMessage, outbox_id: int) -> None:
        self.calls += 1
        raise ConnectionRefusedError("the mail server is down")


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(worker, "utcnow", fake)
    return fake


def queue(session: Session, to: str = "alice@exemple.fr", locale: str | None = "fr", **kw):
    message = queue_mail(
        session,
        to=to,
        subject=kw.pop("subject", "Confirmez votre adresse e-mail"),
        template=kw.pop("template", "mail/verify_email.txt"),
        context=kw.pop(
            "context", {"user": SimpleNamespace(display_name="Alice"), "token": "jeton-123"}
        ),
        locale=locale,
    )
    session.commit()
    return message


def rows(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def reload(session: Session, message: OutboxMessage) -> OutboxMessage:
    session.expire_all()
    row = session.get(OutboxMessage, message.id)
    assert row is not None
    return row


def deliver(app, transport=None) -> int:
    return worker.deliver_due(app.state.engine, app.state.settings, transport)


# --- queueing --------------------------------------------------------------------------------


def test_queue_mail_adds_the_message_in_the_callers_transaction(session):
    queue_mail(
        session,
        to="alice@exemple.fr",
        subject="Confirmez votre adresse e-mail",
        template="mail/verify_email.txt",
        context={"user": SimpleNamespace(display_name="Alice"), "token": "t"},
        locale="fr",
    )
    session.rollback()
    assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0

    queue(session)
    [row] = rows(session)
    assert row.status == MailStatus.queued
    assert row.attempts == 0
    assert row.to_address == "alice@exemple.fr"


def test_a_queued_message_is_due_at_once_and_carries_the_links_base_url(session, settings):
    before = utcnow()
    message = queue(session)
    row = reload(session, message)
    assert before - timedelta(seconds=1) <= row.next_attempt_at <= utcnow()
    assert f"{settings.base_url}/account/verify?token=jeton-123" in row.body_text


# --- delivery to files -----------------------------------------------------------------------


def test_deliver_due_writes_one_eml_file_per_message_and_marks_them_sent(app, session):
    queue(session, to="alice@exemple.fr")
    queue(session, to="bob@exemple.fr")

    assert deliver(app) == 2

    files = sorted(app.state.settings.outbox_dir.glob("*.eml"))
    assert len(files) == 2
    messages = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert [m["To"] for m in messages] == ["alice@exemple.fr", "bob@exemple.fr"]
    for message in messages:
        assert message["From"] == app.state.settings.mail_from
        assert message["Subject"] == "Confirmez votre adresse e-mail"
        assert message["Message-ID"]
        assert message["Date"]
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "Bonjour Alice," in body
        assert "http://testserver/account/verify?token=jeton-123" in body
    for row in rows(session):
        assert row.status == MailStatus.sent
        assert row.attempts == 1
        assert row.sent_at is not None
        assert row.locked_until is None


def test_each_message_is_sent_once(app, session):
    queue(session)
    assert deliver(app) == 1
    assert deliver(app) == 0
    transport = RecordingTransport()
    assert deliver(app, transport) == 0
    assert transport.sent == []
    assert len(list(app.state.settings.outbox_dir.glob("*.eml"))) == 1


def test_only_one_of_two_concurrent_claims_wins(app, session):
    message = queue(session)
    engine = app.state.engine
    with Session(engine) as first, Session(engine) as second:
        assert worker._claim(first, message.id) is True
        assert worker._claim(second, message.id) is False
    row = reload(session, message)
    assert row.status == MailStatus.sending
    assert row.locked_until is not None and row.locked_until > utcnow()


def test_a_sent_message_cannot_be_claimed_again(app, session):
    message = queue(session)
    deliver(app)
    with Session(app.state.engine) as other:
        assert worker._claim(other, message.id) is False


def test_workers_running_at_the_same_time_send_each_message_exactly_once(app, session):
    messages = [queue(session, to=f"personne{n}@exemple.fr") for n in range(12)]
    transport = RecordingTransport()
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            worker.deliver_due(app.state.engine, app.state.settings, transport)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    sent_ids = sorted(outbox_id for outbox_id, _message in transport.sent)
    assert sent_ids == sorted(m.id for m in messages)
    assert all(row.status == MailStatus.sent for row in rows(session))


# --- failures and retries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (9, 7680), (10, 15360), (11, 6 * 3600), (50, 6 * 3600)],
)
def test_backoff_doubles_from_thirty_seconds_and_is_capped(attempts, seconds):
    assert worker.backoff(attempts) == timedelta(seconds=seconds)


def test_a_failed_send_is_put_back_in_the_queue_with_backoff(app, session, clock):
    message = queue(session)
    transport = FailingTransport()

    assert deliver(app, transport) == 0

    row = reload(session, message)
    assert transport.calls == 1
    assert row.status == MailStatus.queued
    assert row.attempts == 1
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)
    assert row.locked_until is None
    assert row.sent_at is None
    assert "ConnectionRefusedError" in (row.last_error or "")


def test_a_failed_message_is_not_retried_before_its_time(app, session, clock):
    message = queue(session)
    transport = FailingTransport()
    deliver(app, transport)

    clock.advance(seconds=29)
    assert deliver(app, transport) == 0
    assert transport.calls == 1

    clock.advance(seconds=1)
    deliver(app, transport)
    assert transport.calls == 2
    row = reload(session, message)
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)


def test_a_failed_message_is_sent_when_the_server_comes_back(app, session, clock):
    message = queue(session)
    deliver(app, FailingTransport())
    clock.advance(seconds=30)
    transport = RecordingTransport()

    assert deliver(app, transport) == 1

    assert [outbox_id for outbox_id, _m in transport.sent] == [message.id]
    row = reload(session, message)
    assert row.status == MailStatus.sent
    assert row.attempts == 2


def test_retries_follow_the_backoff_then_give_up_after_max_attempts(app, session, clock):
    message = queue(session)
    transport = FailingTransport()
    waits = []
    for attempt in range(1, worker.MAX_ATTEMPTS + 1):
        deliver(app, transport)
        assert transport.calls == attempt
        row = reload(session, message)
        assert row.attempts == attempt
        if attempt < worker.MAX_ATTEMPTS:
            assert row.status == MailStatus.queued
            waits.append(row.next_attempt_at - clock.now)
            clock.now = row.next_attempt_at
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(wait <= worker.MAX_BACKOFF for wait in waits)

    row = reload(session, message)
    assert row.status == MailStatus.failed
    clock.advance(days=30)
    deliver(app, transport)
    assert transport.calls == worker.MAX_ATTEMPTS


def test_one_failing_message_does_not_hold_back_the_others(app, session):
    queue(session, to="bloque@exemple.fr")
    queue(session, to="ok@exemple.fr")

    class PickyTransport(RecordingTransport):
        def send(self, message: EmailMessage, outbox_id: int) -> None:
            if message["To"] == "bloque@exemple.fr":
                raise OSError("mailbox unavailable")
            super().send(message, outbox_id)

    transport = PickyTransport()
    assert deliver(app, transport) == 1
    statuses = {row.to_address: row.status for row in rows(session)}
    assert statuses == {"bloque@exemple.fr": MailStatus.queued, "ok@exemple.fr": MailStatus.sent}


def test_a_message_stuck_in_sending_is_picked_up_once_its_lock_expires(app, session, clock):
    message = queue(session)
    # A worker claimed it and died before sending.
    with Session(app.state.engine) as dead_worker:
        assert worker._claim(dead_worker, message.id)
    transport = RecordingTransport()

    assert deliver(app, transport) == 0  # still locked
    clock.advance(seconds=worker.LOCK_DURATION.total_seconds() - 1)
    assert deliver(app, transport) == 0

    clock.advance(seconds=2)
    assert deliver(app, transport) == 1
    assert [outbox_id for outbox_id, _m in transport.sent] == [message.id]
    assert reload(session, message).status == MailStatus.sent


# --- language --------------------------------------------------------------------------------


@pytest.fixture
def locale_probe_template(monkeypatch):
    """A throwaway mail template that shows the language it was rendered in."""
    name = "mail/_test_locale_probe.txt"
    loader = ChoiceLoader(
        [
            DictLoader({name: "{{ get_locale() }} | {{ day|date }} | {{ 1234.5|number }}"}),
            templating.environment.loader,
        ]
    )
    monkeypatch.setattr(templating.environment, "loader", loader)
    return name


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "en | March 5, 2025 | 1,234.5"),
        ("fr", "fr | 5 mars 2025 | 1\u202f234,5"),
        (None, "fr | 5 mars 2025 | 1\u202f234,5"),
        ("xx", "fr | 5 mars 2025 | 1\u202f234,5"),
    ],
)
def test_an_email_is_rendered_in_its_recipients_locale(
    session, locale_probe_template, locale, expected
):
    with i18n.use_locale("en" if locale != "en" else "fr"):
        message = queue(
            session,
            locale=locale,
            template=locale_probe_template,
            context={"day": datetime(2025, 3, 5, 12)},
        )
        # The sender's own language is left as it was.
        assert i18n.get_locale() == ("en" if locale != "en" else "fr")
    assert reload(session, message).body_text.replace("\xa0", "\u202f") == expected


def test_an_email_to_an_english_reader_is_written_in_english(app, session):
    # Needs the English catalogue (app/translations/en/LC_MESSAGES/messages.po).
    message = queue(session, locale="en")
    row = reload(session, message)
    assert row.subject != "Confirmez votre adresse e-mail"
    assert "Bonjour" not in row.body_text
    assert "Alice" in row.body_text
    assert "http://testserver/account/verify?token=jeton-123" in row.body_text


def test_signing_up_in_english_sends_the_confirmation_in_english(client, session, mailbox):
    # Needs the English catalogue.
    response = post_form(
        client,
        "/account/signup",
        {"email": "eve@example.org", "display_name": "Eve", "password": "a-long-password"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 303
    [message] = mailbox.to("eve@example.org")
    assert message["Subject"] != "Confirmez votre adresse e-mail"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour" not in body
    assert "/account/verify?token=" in body
