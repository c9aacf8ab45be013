"""Queue e-mails in the outbox, in the recipient's language.

Messages are added to the caller's transaction: if the action rolls back, no e-mail leaves.
The worker (app.mail.worker) delivers them after commit.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.mail.models import OutboxMessage
from app.web import i18n
from app.web.templating import render_to_string


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    locale: str | None,
) -> OutboxMessage:
    """`subject` is the French source string; it is translated with the body."""
    settings = session.info.get("settings")
    base_url = settings.base_url if settings else _default_base_url()
    with i18n.use_locale(locale or i18n.SOURCE_LOCALE):
        translated_subject = i18n.gettext(subject)
        body = render_to_string(
            template, {**context, "base_url": base_url, "subject": translated_subject}
        )
    message = OutboxMessage(to_address=to, subject=translated_subject[:200], body_text=body)
    session.add(message)
    return message


def _default_base_url() -> str:
    from app.core.settings import Settings

    return Settings().base_url
