"""Delivery by SMTP (BOURSE_SMTP_URL) to a small SMTP server run by the test itself."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session

from app.core.db import utcnow
from app.core.settings import Settings
from app.mail import worker
from app.mail.models import MailStatus, OutboxMessage
from app.mail.service import queue_mail


class Recorder:
    """An aiosmtpd handler keeping what it receives; optionally refuses some recipients."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.envelopes: list = []
        self.refuse = refuse or set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(handler: Recorder, port: int | None = None, **smtp_options) -> Iterator[int]:
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()  # returns once the server answers
    try:
        yield port
    finally:
        controller.stop()


def smtp_settings(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"smtp_url": url})


def queue(session: Session, to: str = "alice@exemple.fr") -> OutboxMessage:
    message = queue_mail(
        session,
        to=to,
        subject="Confirmez votre adresse e-mail",
        template="mail/verify_email.txt",
        context={"user": SimpleNamespace(display_name="Alice"), "token": "jeton-123"},
        locale="fr",
    )
    session.commit()
    return message


def reload(session: Session, message: OutboxMessage) -> OutboxMessage:
    session.expire_all()
    row = session.get(OutboxMessage, message.id)
    assert row is not None
    return row


def test_the_smtp_url_selects_the_smtp_transport(settings):
    assert isinstance(worker.transport_for(settings), worker.FileTransport)
    transport = worker.transport_for(smtp_settings(settings, "smtp://127.0.0.1:2525"))
    assert isinstance(transport, worker.SmtpTransport)


def test_a_message_is_delivered_to_the_smtp_server(app, session, settings):
    message = queue(session)
    handler = Recorder()
    with smtp_server(handler) as port:
        config = smtp_settings(settings, f"smtp://127.0.0.1:{port}")
        assert worker.deliver_due(app.state.engine, config) == 1

    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["alice@exemple.fr"]
    assert envelope.mail_from == "ne-pas-repondre@localhost"
    received = message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["To"] == "alice@exemple.fr"
    assert received["Subject"] == "Confirmez votre adresse e-mail"
    body = received.get_body(preferencelist=("plain",)).get_content()
    assert "http://testserver/account/verify?token=jeton-123" in body

    row = reload(session, message)
    assert row.status == MailStatus.sent
    # Nothing written to files when SMTP is configured.
    assert not list(settings.outbox_dir.glob("*.eml"))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_credentials_in_the_url_are_used_to_log_in(app, session, settings):
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, smtp_session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"p@ss:word")

    queue(session)
    handler = Recorder()
    with smtp_server(
        handler, authenticator=authenticator, auth_require_tls=False, auth_required=True
    ) as port:
        # user and password are percent-encoded in the URL.
        config = smtp_settings(
            settings, f"smtp://robot%40exemple.fr:p%40ss%3Aword@127.0.0.1:{port}"
        )
        assert worker.deliver_due(app.state.engine, config) == 1

    assert logins == [(b"robot@exemple.fr", b"p@ss:word")]
    assert len(handler.envelopes) == 1


def test_a_refused_connection_is_retried_later_not_lost(app, session, settings):
    message = queue(session)
    port = free_port()  # nothing listens here
    config = smtp_settings(settings, f"smtp://127.0.0.1:{port}")

    before = utcnow()
    assert worker.deliver_due(app.state.engine, config) == 0

    row = reload(session, message)
    assert row.status == MailStatus.queued
    assert row.attempts == 1
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert row.next_attempt_at >= before + timedelta(seconds=30)

    # The server comes back and the retry is due: the message goes out.
    handler = Recorder()
    with smtp_server(handler, port=port):
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
        assert worker.deliver_due(app.state.engine, config) == 1
    assert [e.rcpt_tos for e in handler.envelopes] == [["alice@exemple.fr"]]
    assert reload(session, message).status == MailStatus.sent


def test_a_permanently_refused_recipient_fails_at_once_and_the_others_are_delivered(
    app, session, settings
):
    refused = queue(session, to="inconnu@exemple.fr")
    accepted = queue(session, to="alice@exemple.fr")
    handler = Recorder(refuse={"inconnu@exemple.fr"})
    with smtp_server(handler) as port:
        config = smtp_settings(settings, f"smtp://127.0.0.1:{port}")
        assert worker.deliver_due(app.state.engine, config) == 1

    assert [e.rcpt_tos for e in handler.envelopes] == [["alice@exemple.fr"]]
    assert reload(session, accepted).status == MailStatus.sent
    row = reload(session, refused)
    # 550 will not change on retry: the message is marked failed, not retried for days.
    assert row.status == MailStatus.failed
    assert row.attempts == 1
    assert "SMTPRecipientsRefused" in (row.last_error or "")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("mail.example.org", 25)),
        ("smtp://mail.example.org:587?starttls=1", ("mail.example.org", 587)),
    ],
)
def test_the_smtp_url_gives_host_and_port(url, expected, monkeypatch):
    seen: list[tuple[str, int]] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            seen.append((host, port))
            raise ConnectionRefusedError("not really connecting")

    monkeypatch.setattr(worker.smtplib, "SMTP", FakeSMTP)
    with pytest.raises(ConnectionRefusedError):
        worker.SmtpTransport(url).send(worker.EmailMessage(), 1)
    assert seen == [expected]
