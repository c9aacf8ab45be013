"""Anti-abuse at the door, for any public form: a honeypot field and a minimum fill time, plus
the "at most 2 links from a brand-new account" rule. Knows no domain.

- The honeypot is a text input people never see (off screen, out of the tab order, labelled
  « Ne pas remplir ce champ » for screen readers); bots that fill every field fill it too.
- The fill time: the form carries `form_started`, a timestamp signed with the app secret
  (itsdangerous TimestampSigner, salt "bourse.form"). A form sent less than MIN_FILL_SECONDS
  after it was rendered, or whose timestamp is missing or forged, is refused.

A refusal raises FormRejected (an Invalid, so 422): the route re-renders the form with what the
person typed and a fresh guard, and writes nothing. The message never says which check fired.
BOURSE_RATE_LIMITS=off turns the fill-time check off (load tests, acceptance runs from one
address); the honeypot stays on, since no honest client ever fills it.

Usage in a route: `guard: GuardData` (a dependency reading the two fields from the posted form),
then `check_guard(guard, settings)` before anything is written; templates call
`guard_fields(guard)` from `_macros/antiabuse.html` with `guard_values(settings)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, TimestampSigner

from app.db import as_utc
from app.text import count_links
from app.web.errors import Invalid
from app.web.i18n import gettext as _

STARTED_FIELD = "form_started"
HONEYPOT_FIELD = "website"
SIGNER_SALT = "bourse.form"
MIN_FILL_SECONDS = 3
# A form rendered this long ago is refused like a forged one (a harvested timestamp does not
# serve forever); the re-rendered form carries a fresh one, so a person simply sends it again.
MAX_FORM_AGE = timedelta(days=1)

NEW_ACCOUNT_AGE = timedelta(days=1)
NEW_ACCOUNT_MAX_LINKS = 2


class FormRejected(Invalid):
    """The form was refused by the honeypot or the fill-time check (422, nothing written)."""

    def __init__(self, detail: str):
        super().__init__({}, detail)


def _timing_enabled(settings: Any) -> bool:
    return getattr(settings, "rate_limits", "on") != "off"


def _signer(settings: Any, at: datetime | None = None) -> TimestampSigner:
    signer = TimestampSigner(settings.signing_key, salt=SIGNER_SALT)
    if at is not None:
        # Tests (and only tests) forge a rendering time in the past with the real signer.
        stamp = int(at.timestamp())
        signer.get_timestamp = lambda: stamp  # type: ignore[method-assign]
    return signer


def sign_form_start(settings: Any, at: datetime | None = None) -> str:
    """The signed `form_started` value for a form rendered at `at` (default: now)."""
    return _signer(settings, at).sign(b"form").decode()


def guard_values(settings: Any, now: datetime | None = None) -> dict[str, str]:
    """What `guard_fields(guard)` in templates/_macros/antiabuse.html needs."""
    return {
        "started_field": STARTED_FIELD,
        "started": sign_form_start(settings, now),
        "honeypot_field": HONEYPOT_FIELD,
    }


def _text(form_data: Mapping[str, Any], name: str) -> str:
    value = form_data.get(name)
    return value if isinstance(value, str) else ""


def check_guard(form_data: Mapping[str, Any], settings: Any, now: datetime | None = None) -> None:
    """Raises FormRejected when the honeypot is filled, or (rate limits on) when the form was
    sent too fast or its timestamp is missing, forged or stale. Writes nothing."""
    rejected = FormRejected(
        _("Votre envoi n'a pas pu être accepté. Vérifiez le formulaire, puis envoyez-le à nouveau.")
    )
    if _text(form_data, HONEYPOT_FIELD).strip():
        raise rejected
    if not _timing_enabled(settings):
        return
    token = _text(form_data, STARTED_FIELD)
    if not token or len(token) > 200:
        raise rejected
    try:
        _value, started = _signer(settings).unsign(token, return_timestamp=True)
    except BadSignature:
        raise rejected from None
    now = as_utc(now) or datetime.now(UTC)
    age = now - started
    if age > MAX_FORM_AGE:
        raise rejected
    if age < timedelta(seconds=MIN_FILL_SECONDS):
        raise FormRejected(
            _(
                "Votre envoi a été trop rapide. Relisez le formulaire, "
                "puis réessayez dans quelques secondes."
            )
        )


async def _guard_data(request: Request) -> dict[str, str]:
    # FastAPI has already parsed the body for the route's Form fields: this reads the cache.
    form = await request.form()
    return {name: _text(form, name) for name in (STARTED_FIELD, HONEYPOT_FIELD)}


GuardData = Annotated[dict[str, str], Depends(_guard_data)]


def check_link_limit(
    user_created_at: datetime,
    *texts: str,
    field: str = "body",
    now: datetime | None = None,
) -> None:
    """An account less than a day old may put at most 2 links in one post (title and body
    counted together): spammers sign up and post at once, residents rarely need more."""
    now = as_utc(now) or datetime.now(UTC)
    created = as_utc(user_created_at) or now
    if now - created >= NEW_ACCOUNT_AGE:
        return
    if sum(count_links(text) for text in texts) > NEW_ACCOUNT_MAX_LINKS:
        raise Invalid(
            {
                field: _(
                    "Les comptes créés depuis moins d'un jour peuvent mettre au plus "
                    "%(max)s liens par message. Retirez des liens, ou revenez demain.",
                    max=NEW_ACCOUNT_MAX_LINKS,
                )
            }
        )
