"""Admin: the site's identity (name, territory, contact, logo, accent colour, legal details) and
its long pages, written in Markdown per language.

Every write: authorise (admins only, checked here as well as by the router) → validate (a
French message per field, nothing written) → execute → one audit entry in the same
transaction → commit. What the public sees is read by app/web/site_identity.py.

Revisions of a page are rows of the moderation `revisions` table (target_kind "site_page"),
the table that already keeps a need's or a comment's text as it was before a moderator edited
it: the same meaning (the previous text, who replaced it, when), the same reading for staff,
and no new table, migration or content-version trigger to keep in step. The current text
stays in `site_settings`, whose triggers bump the content version, so the anonymous cache
drops the old page at the first write.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from fastapi import UploadFile
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core import audit
from app.core.settings import Settings
from app.core.site_config import set_value
from app.moderation.models import Revision
from app.moderation.permissions import ensure_admin
from app.pipeline import uploads
from app.web.colours import contrast, is_hex_colour
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import format_number
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.site_identity import (
    DIRECTOR_MAX,
    IDENTITY_PREFIX,
    INFO_PAGES,
    LEGAL_DETAIL_MAX,
    NAME_MAX,
    PAGE_LOCALES,
    PAGE_MAX,
    TERRITORY_MAX,
    Identity,
    default_page,
    page_key,
    read_identity,
    stored_page,
)

REVISION_KIND = "site_page"
EMAIL_MAX = 254
MIN_CONTRAST = 4.5  # WCAG 2.1 AA (RGAA 3.2) for normal text: white on the accent colour

# The labels of the legal details the dashboard lists while they are missing.
LEGAL_LABELS = {
    "publisher": N_("l'éditeur du site (dénomination, siège, téléphone)"),
    "director": N_("le directeur ou la directrice de la publication"),
    "host": N_("l'hébergeur (dénomination, adresse, téléphone)"),
    "contact_email": N_("l'adresse de contact"),
}
PAGE_LABELS = {
    "about": N_("À propos"),
    "charter": N_("Charte de participation"),
    "privacy": N_("Données personnelles"),
    "accessibility": N_("Déclaration d'accessibilité"),
    "legal": N_("Mentions légales"),
}
LOCALE_LABELS = {"fr": N_("français"), "en": N_("anglais")}

# Control characters and invisible formatting (e.g. right-to-left overrides), kept out of what
# every page shows; line breaks are kept where a field is typed on several lines.
_INVISIBLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def missing_legal(identity: Identity) -> list[str]:
    """What the law requires and the admin has not given yet, in words (for the dashboard)."""
    return [_(LEGAL_LABELS[name]) for name in identity.missing_legal()]


# --- identity ------------------------------------------------------------------------------


@dataclass
class IdentityInput:
    """The identity form as typed (kept to re-render it with errors)."""

    name: str = ""
    territory: str = ""
    contact_email: str = ""
    accent: str = ""
    publisher: str = ""
    director: str = ""
    host: str = ""

    @classmethod
    def of(cls, identity: Identity) -> IdentityInput:
        return cls(**{name: getattr(identity, name) for name in TEXT_FIELDS})


TEXT_FIELDS = ("name", "territory", "contact_email", "accent", "publisher", "director", "host")


def _one_line(raw: str) -> str:
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", raw or "").replace("\n", " "))
    return " ".join(text.split())


def _lines(raw: str) -> str:
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", (raw or "").replace("\r\n", "\n")))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def format_ratio(ratio: float) -> str:
    """4.4791 → "4,47": rounded down, so a refused colour never reads as « 4,5:1 »."""
    return f"{math.floor(ratio * 100) / 100:.2f}".replace(".", ",")


def _too_long(max_length: int, length: int) -> str:
    return _(
        "%(max)s caractères au plus (vous en avez saisi %(count)s).",
        max=format_number(max_length),
        count=format_number(length),
    )


def _validate_identity(data: IdentityInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    one_line = (("name", NAME_MAX), ("territory", TERRITORY_MAX), ("director", DIRECTOR_MAX))
    for name, limit in one_line:
        value = _one_line(getattr(data, name))
        if len(value) > limit:
            errors[name] = _too_long(limit, len(value))
        values[name] = value
    for name in ("publisher", "host"):
        value = _lines(getattr(data, name))
        if len(value) > LEGAL_DETAIL_MAX:
            errors[name] = _too_long(LEGAL_DETAIL_MAX, len(value))
        values[name] = value
    email = data.contact_email.strip()
    if len(email) > EMAIL_MAX:
        errors["contact_email"] = _("Cette adresse e-mail est trop longue.")
    elif email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["contact_email"] = _(
                "Cette adresse e-mail n'est pas valable (exemple : contact@exemple.fr)."
            )
    values["contact_email"] = email
    accent = data.accent.strip().lower()
    if accent and not is_hex_colour(accent):
        errors["accent"] = _(
            "Indiquez la couleur par son code hexadécimal à six chiffres, par exemple #1f4e8c."
        )
    elif accent and contrast(accent, "#ffffff") < MIN_CONTRAST:
        errors["accent"] = _(
            "Le texte blanc sur cette couleur n'atteint qu'un contraste de %(ratio)s:1 ; il "
            "faut au moins 4,5:1 pour qu'il reste lisible. Choisissez une couleur plus foncée.",
            ratio=format_ratio(contrast(accent, "#ffffff")),
        )
    values["accent"] = accent
    if errors:
        raise Invalid(errors)
    return values


def _settings(session: Session) -> Settings:
    return session.info.get("settings") or Settings()


def update_identity(
    session: Session,
    admin: User,
    data: IdentityInput,
    *,
    logo: UploadFile | None = None,
    remove_logo: bool = False,
) -> dict[str, Any]:
    """Saves what changed, with one `identity.update` audit entry (before/after of the changed
    values). Returns the changed values ({} when nothing changed: then nothing is written).
    The fields are checked before the logo is read, so a refused form leaves no file behind;
    a new logo replaces the old one, whose file is removed once the change is committed."""
    ensure_admin(admin)
    values: dict[str, Any] = dict(_validate_identity(data))
    settings = _settings(session)
    current = read_identity(session)
    stored = None
    if logo is not None and uploads.has_file(logo):
        stored = uploads.save_upload(
            logo,
            allowed=uploads.LOGO_TYPES,
            max_bytes=uploads.logo_limit(settings),
            directory=uploads.logos_dir(settings),
            field="logo",
        )
        values["logo_file"], values["logo_type"] = stored.stored_name, stored.content_type
    elif remove_logo:
        values["logo_file"], values["logo_type"] = "", ""
    changed = {key: value for key, value in values.items() if getattr(current, key) != value}
    if not changed:
        return {}
    for key, value in changed.items():
        set_value(session, IDENTITY_PREFIX + key, value, user_id=admin.id)
    audit.record(
        session,
        admin,
        "identity.update",
        "site",
        None,
        before={key: getattr(current, key) for key in changed},
        after=changed,
    )
    try:
        session.commit()
    except IntegrityError:
        # Two admins saved a value never saved before at the same moment.
        session.rollback()
        if stored is not None:
            uploads.remove_file(stored.path)
        raise Conflict(
            _("L'identité du site vient d'être modifiée par quelqu'un d'autre : rechargez la page.")
        ) from None
    except BaseException:
        if stored is not None:
            uploads.remove_file(stored.path)
        raise
    if "logo_file" in changed and current.logo_file:
        logos = uploads.logos_dir(settings)
        uploads.remove_file(uploads.stored_path(logos, current.logo_file))
    return changed


# --- pages ---------------------------------------------------------------------------------

# A page's number in `revisions.target_id` (an integer column): fixed once and for all, so
# new pages or languages are added at the end, never inserted.
PAGE_IDS = {
    (locale, name): number
    for number, (locale, name) in enumerate(
        ((locale, name) for locale in PAGE_LOCALES for name in INFO_PAGES), start=1
    )
}


def check_page(locale: str, name: str) -> None:
    if (locale, name) not in PAGE_IDS:
        raise NotFound(_("Cette page n'existe pas."))


def clean_markdown(raw: str) -> str:
    text = unicodedata.normalize("NFC", (raw or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text.replace("\t", "    "))
    return "\n".join(line.rstrip() for line in text.strip().split("\n")) + "\n"


_FENCE = re.compile(r"^(```|~~~)")


def _top_headings(text: str) -> list[int]:
    """Line numbers of the level-one headings (« # Title »), outside fenced code."""
    found, fenced = [], False
    for number, line in enumerate(text.split("\n")):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r"# \S", line):
            found.append(number)
    return found


def validate_page(markdown: str) -> str:
    text = clean_markdown(markdown)
    if len(text) > PAGE_MAX:
        raise Invalid({"markdown": _too_long(PAGE_MAX, len(text))})
    headings = _top_headings(text)
    if not headings or headings[0] != 0:
        raise Invalid(
            {
                "markdown": _(
                    "Le texte doit commencer par son titre, sur une ligne qui commence par "
                    "« # » suivi d'une espace (par exemple « # Mentions légales »)."
                )
            }
        )
    if len(headings) > 1:
        raise Invalid(
            {
                "markdown": _(
                    "Une page n'a qu'un titre « # » : commencez les lignes des parties par « ## »."
                )
            }
        )
    return text


def update_page(
    session: Session, admin: User, locale: str, name: str, markdown: str, *, reset: bool = False
) -> bool:
    """Saves the page's new Markdown (or, with `reset`, goes back to the shipped text), keeping
    the text it replaces as a revision, with a `page.update` audit entry. False when nothing
    changed (nothing is written). Commits."""
    ensure_admin(admin)
    check_page(locale, name)
    new = None if reset else validate_page(markdown)
    previous = stored_page(session, locale, name)
    before = previous or default_page(locale, name)
    if new == previous or (new is None and previous is None):
        return False
    if new is not None and previous is None and new == clean_markdown(default_page(locale, name)):
        return False  # the shipped text, saved as it is: nothing to keep
    revision = Revision(
        target_kind=REVISION_KIND,
        target_id=PAGE_IDS[(locale, name)],
        editor_id=admin.id,
        editor_name=admin.display_name[:60],
        title=f"{locale}/{name}",
        body=before,
        reason="default" if previous is None else "",
    )
    session.add(revision)
    set_value(session, page_key(locale, name), new, user_id=admin.id)
    session.flush()  # the revision's id, for the audit entry
    audit.record(
        session,
        admin,
        "page.update",
        "page",
        PAGE_IDS[(locale, name)],
        before={"page": f"{locale}/{name}", "revision": revision.id, "default": previous is None},
        after={"page": f"{locale}/{name}", "characters": len(new or ""), "default": new is None},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            _("Cette page vient d'être modifiée par quelqu'un d'autre : rechargez la page.")
        ) from None
    return True


def page_revisions(session: Session, locale: str, name: str) -> list[Revision]:
    """The texts this page had before each change, newest first."""
    check_page(locale, name)
    statement = (
        select(Revision)
        .where(Revision.target_kind == REVISION_KIND)
        .where(Revision.target_id == PAGE_IDS[(locale, name)])
        .order_by(col(Revision.id).desc())
    )
    return list(session.exec(statement))


@dataclass(frozen=True)
class PageStatus:
    locale: str
    name: str
    label: str
    locale_label: str
    edited: bool


def pages_overview(session: Session) -> list[PageStatus]:
    return [
        PageStatus(
            locale,
            name,
            _(PAGE_LABELS[name]),
            _(LOCALE_LABELS[locale]),
            stored_page(session, locale, name) is not None,
        )
        for locale in PAGE_LOCALES
        for name in INFO_PAGES
    ]
