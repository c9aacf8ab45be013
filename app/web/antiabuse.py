"""Anti-abuse at the door, for any public form: a honeypot field and a minimum fill time, plus
the "at most 2 links from a brand-new account" rule. Knows no domain.

- The honeypot is a text input people never see (off screen, out of the tab order, labelled
  « Ne pas remplir ce champ » for screen readers); bots that fill every field fill it too.
- The fill time: the form carries `form_started`, a timestamp signed with the app secret
  (itsdangerous TimestampSigner, salt "bourse.form") around a random nonce, so that no two
  rendered forms carry the same value. A form sent less than MIN_FILL_SECONDS after it was
  rendered, or more than MAX_FORM_AGE after, or whose timestamp is missing or forged, is refused.
- One write per form: given the request's session, check_guard records a hash of the accepted
  value (a `rate_events` row keyed `form:<sha256>`, in the caller's transaction, so it exists
  only if the write commits) and refuses the value the next time — one harvested value no
  longer passes signup after signup for a day. The very same form sent again (a double click,
  a browser retrying) still passes when the caller names what the form writes (`resend_of`,
  e.g. the author and the form's submission key): the caller's idempotent path then hands back
  what the first sending wrote. Every rendered form gets its own value (a page with several
  guarded forms, such as a need's comment and reply forms, signs one per form), and every form
  re-rendered (after an error, or by htmx after a post) a fresh one.

A refusal raises FormRejected (an Invalid, so 422): the route re-renders the form with what the
person typed and a fresh guard, and writes nothing. The message never says which check fired.
BOURSE_RATE_LIMITS=off turns the fill-time check off (load tests, acceptance runs from one
address); the honeypot stays on, since no honest client ever fills it.

Usage in a route: `guard: GuardData` (a dependency reading the two fields from the posted form),
then `check_guard(guard, settings, session=session)` before anything is written; templates call
`guard_fields(guard)` from `_macros/antiabuse.html` with `guard_values(settings)`.

`record_use` is the store behind "once": a use of a key, counted in `rate_events` across
workers and instances, and serialised so that two requests at once cannot both be first (it
also keeps partner arrivals to one per visitor, app.syndication.attribution).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from base64 import urlsafe_b64encode
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes
from sqlalchemy import func
from sqlmodel import Session, select

from app.core.db import as_utc, serialise_on
from app.core.ratelimit import RateEvent
from app.core.text import count_links
from app.web.errors import Invalid
from app.web.i18n import gettext as _

STARTED_FIELD = "form_started"
HONEYPOT_FIELD = "website"
SIGNER_SALT = "bourse.form"
MIN_FILL_SECONDS = 3
# A form rendered this long ago is refused like a forged one (a harvested timestamp does not
# serve forever); the re-rendered form carries a fresh one, so a person simply sends it again.
MAX_FORM_AGE = timedelta(days=1)
# rate_events keys: a form value already used, and that value together with what it wrote.
USED_FORM_PREFIX = "form:"
RESENT_FORM_PREFIX = "form-resend:"

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
    """The signed `form_started` value for a form rendered at `at` (default: now), unique to
    this form: the nonce keeps two forms rendered in the same second apart."""
    if at is not None:
        return _signer(settings, at).sign(secrets.token_urlsafe(12).encode()).decode()
    return sign_form_starts(settings, 1)[0]


_derived_keys: dict[str, bytes] = {}


def sign_form_starts(settings: Any, count: int) -> list[str]:
    """`count` values of `sign_form_start` for forms rendered now, the same bytes as the
    TimestampSigner makes (unsign reads them), without building a signer and deriving its key
    for each: a signed-in need page fills one per reply form, and at 37 forms the signer's
    own way was 60 % of the page's time (bench/README.md, issue 13)."""
    secret = settings.signing_key
    key = _derived_keys.get(secret)
    if key is None:
        key = _signer(settings).derive_key()
        _derived_keys.clear()  # one key in use; a changed secret replaces it
        _derived_keys[secret] = key
    stamp = b"." + base64_encode(int_to_bytes(int(time.time())))
    # 12 random bytes a nonce (16 characters, no padding), drawn for all the forms at once.
    randomness = secrets.token_bytes(12 * count)
    values = []
    for i in range(0, 12 * count, 12):
        value = urlsafe_b64encode(randomness[i : i + 12]) + stamp
        signature = urlsafe_b64encode(hmac.digest(key, value, "sha1")).rstrip(b"=")
        values.append((value + b"." + signature).decode())
    return values


def guard_values(settings: Any, now: datetime | None = None) -> dict[str, str]:
    """What `guard_fields(guard)` in templates/_macros/antiabuse.html needs."""
    return {
        "started_field": STARTED_FIELD,
        "started": sign_form_start(settings, now),
        "honeypot_field": HONEYPOT_FIELD,
    }


def carried_guard_values(form_data: Mapping[str, Any], settings: Any) -> dict[str, str]:
    """guard_values for a form shown again without being sent for good (« Aperçu »): the
    posted `form_started` when it is genuine and fresh, so the fill time keeps counting from
    the first rendering (a person who previews and then publishes within three seconds has
    been at the form far longer than that); a fresh one otherwise."""
    token = _text(form_data, STARTED_FIELD)
    if token and len(token) <= 200:
        try:
            _value, started = _signer(settings).unsign(token, return_timestamp=True)
        except BadSignature:
            pass
        else:
            if datetime.now(UTC) - started <= MAX_FORM_AGE:
                return {**guard_values(settings), "started": token}
    return guard_values(settings)


def _text(form_data: Mapping[str, Any], name: str) -> str:
    value = form_data.get(name)
    return value if isinstance(value, str) else ""


def check_guard(
    form_data: Mapping[str, Any],
    settings: Any,
    now: datetime | None = None,
    *,
    session: Session | None = None,
    resend_of: str = "",
) -> None:
    """Raises FormRejected when the honeypot is filled, or (rate limits on) when the form was
    sent too fast or its timestamp is missing, forged, stale or — given the request's
    `session` — already used for a write. Otherwise, with a session, records the value as used
    in the caller's transaction (committed with the write, discarded with a refused one).

    `resend_of` names what this form writes (e.g. "<user id>:<submission key>"): the same
    value sent again with the same `resend_of` passes, for the caller's idempotent path to hand
    back the first write; any other reuse is refused. Without a session (unit tests), the
    value is not checked for reuse."""
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
    if session is not None and not _use_form(session, token, resend_of, now):
        raise rejected


def _form_key(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _use_form(session: Session, token: str, resend_of: str, now: datetime) -> bool:
    """Records the first use of a form value; True then, or for the same form sent again."""
    # The value is good for MAX_FORM_AGE after its rendering, so a use older than that can no
    # longer be replayed: the window to look back over (and what the purge must keep).
    if record_use(session, _form_key(USED_FORM_PREFIX, token), window=MAX_FORM_AGE, now=now):
        if resend_of:
            session.add(
                RateEvent(key=_form_key(RESENT_FORM_PREFIX, token, resend_of), created_at=now)
            )
        return True
    if not resend_of:
        return False
    resent = _form_key(RESENT_FORM_PREFIX, token, resend_of)
    return _count(session, resent, now - MAX_FORM_AGE) > 0


# --- uses recorded once ---------------------------------------------------------------------------


def _count(session: Session, key: str, since: datetime) -> int:
    statement = select(func.count()).where(RateEvent.key == key, RateEvent.created_at > since)  # type: ignore[arg-type]
    return int(session.exec(statement).one())


def record_use(
    session: Session, key: str, *, window: timedelta, now: datetime, limit: int = 1
) -> bool:
    """Records one use of `key` (a `rate_events` row, in the caller's transaction, which the
    caller commits) when fewer than `limit` uses were recorded over the last `window`, and says
    whether it did; nothing is left behind when it did not. The background purge must keep
    rows at least `window` (app.ops.jobs).

    Two requests at once are serialised on the key, so they cannot both be under the limit:
    PostgreSQL takes a transaction-scoped advisory lock on it before counting (the other
    request waits for this transaction's end, then sees its row); SQLite writes the row first,
    which takes the database's write lock until this transaction ends, then counts."""
    serialise_on(session, key)
    row = RateEvent(key=key, created_at=now)
    session.add(row)
    session.flush()
    if _count(session, key, now - window) <= limit:
        return True
    session.delete(row)
    session.flush()
    return False


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
