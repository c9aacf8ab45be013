"""Delivers the outbox: by SMTP when BOURSE_SMTP_URL is set, otherwise as .eml files under
data/outbox/ (and a log line), which is how development and tests read their e-mails.

Each message is claimed with a conditional UPDATE (status and lock checked in the WHERE), so
two workers never send the same message; a claim expires after LOCK_DURATION in case a worker
dies mid-send. Failures are retried with exponential backoff, then marked failed.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core import outbox
from app.core.db import utcnow
from app.core.settings import Settings
from app.mail.models import MailStatus, OutboxMessage

log = logging.getLogger(__name__)

LOCK_DURATION = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
BATCH_SIZE = 50


class Transport(Protocol):
    def send(self, message: EmailMessage, outbox_id: int) -> None: ...


class FileTransport:
    """Writes each message as an .eml file: readable by any mail client and by tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage, outbox_id: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{outbox_id:08d}.eml"
        path.write_bytes(bytes(message))
        # The file's name, not the recipient: no e-mail address in the log (app/core/logs.py).
        log.info("E-mail %s written to %s", outbox_id, path)


@dataclass
class SmtpTransport:
    """smtp://user:password@host:587?starttls=1, or smtps://… for implicit TLS."""

    url: str
    timeout: float = 20.0

    def send(self, message: EmailMessage, outbox_id: int) -> None:
        parts = urlsplit(self.url)
        options = parse_qs(parts.query)
        host = parts.hostname or "localhost"
        context = ssl.create_default_context()
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=self.timeout)
        with client:
            if parts.scheme == "smtp" and options.get("starttls", ["0"])[0] in ("1", "true"):
                client.starttls(context=context)
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return FileTransport(settings.outbox_dir)


def build_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    return message


def is_permanent(exc: Exception) -> bool:
    """A 5xx SMTP answer (unknown mailbox, refused sender…) will not change on retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def backoff(attempts: int) -> timedelta:
    return outbox.backoff(attempts, BASE_BACKOFF, MAX_BACKOFF)


def _claim(session: Session, row_id: int) -> bool:
    return outbox.claim(session, OutboxMessage, row_id, utcnow(), LOCK_DURATION)


def deliver_due(engine: Engine, settings: Settings, transport: Transport | None = None) -> int:
    """Sends every message that is due; returns how many were sent."""
    transport = transport or transport_for(settings)
    sent = 0
    with Session(engine, expire_on_commit=False) as session:
        now = utcnow()
        due = outbox.due_ids(session, OutboxMessage, now, BATCH_SIZE)
        for row_id in due:
            if not _claim(session, row_id):
                continue  # another worker took it
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            try:
                transport.send(build_message(row, settings), row_id)
            except Exception as exc:  # any transport error is retried later
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                row.locked_until = None
                if row.attempts >= MAX_ATTEMPTS or is_permanent(exc):
                    row.status = MailStatus.failed.value
                    log.error("Giving up on e-mail %s: %s", row_id, exc)
                else:
                    row.status = MailStatus.queued.value
                    row.next_attempt_at = utcnow() + backoff(row.attempts)
                    log.warning("E-mail %s failed (attempt %s): %s", row_id, row.attempts, exc)
            else:
                row.attempts += 1
                row.status = MailStatus.sent.value
                row.sent_at = utcnow()
                row.locked_until = None
                sent += 1
            session.add(row)
            session.commit()
    return sent
