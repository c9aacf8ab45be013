"""The site's identity (name of the fabrique, territory, contact, logo, accent colour, legal
details) and its long pages (about, charter, privacy, accessibility, legal notices), as the
public sees them.

An admin sets them from the moderation area (app/moderation/identity.py, which validates,
audits and keeps the revisions); they are rows of `site_settings`, so every app instance sees
a change at once, and the database triggers on that table bump the content version: the
anonymous cache and the pages rendered once per role drop what they stored, with nothing to
call here.

A page's text is Markdown per language. Until an admin writes one, the shipped default is
used (templates/pages/<locale>/<name>.md). Both may name the identity's values in braces —
`{name}`, `{territory}`, `{contact}`, `{publisher}`, `{director}`, `{host}`, `{site_url}`, and
`{anti_abuse_retention}` (BOURSE_RATE_EVENTS_DAYS in words) —
replaced when the page is shown, so the defaults are complete as soon as the admin fills the
identity, and say plainly what is not given yet instead of showing a placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from sqlmodel import Session, col, select

from app import RESOURCES
from app.core.settings import Settings
from app.core.site_config import SiteSetting
from app.core.text import render_page_markdown
from app.web.colours import darken_for, luminance, mix_with_white, scale

# The pages, in the order the admin lists them. The slug is also the public address (/about).
INFO_PAGES = ("about", "charter", "privacy", "accessibility", "legal")
PAGE_LOCALES = ("fr", "en")

NAME_MAX = 120
TERRITORY_MAX = 120
DIRECTOR_MAX = 120
LEGAL_DETAIL_MAX = 500  # publisher and host: a name, an address and a telephone number
PAGE_MAX = 60_000  # characters of Markdown: the privacy page is about 9,000

# site_settings keys (at most 40 characters).
IDENTITY_PREFIX = "identity."


def page_key(locale: str, name: str) -> str:
    return f"page.{locale}.{name}"


@dataclass(frozen=True)
class Identity:
    """What the admin gave; "" where nothing was given yet."""

    name: str = ""
    territory: str = ""
    contact_email: str = ""
    accent: str = ""  # "#rrggbb", checked against white text when saved
    logo_file: str = ""  # stored name under BOURSE_UPLOAD_DIR/logos
    logo_type: str = ""
    publisher: str = ""  # the association: legal name, head office, telephone
    director: str = ""  # directeur ou directrice de la publication
    host: str = ""  # the hosting company: name, address, telephone

    def missing_legal(self) -> list[str]:
        """The fields the law asks for that are still empty (LCEN art. 6 III for the
        publisher, the publication director and the host; the GDPR for a contact)."""
        return [name for name in LEGAL_FIELDS if not getattr(self, name)]

    @property
    def logo_url(self) -> str:
        # The stored name in the query: a new logo is a new address, cached for good.
        return f"/site/logo?v={self.logo_file[:8]}" if self.logo_file else ""

    @property
    def theme_url(self) -> str:
        return f"/site/theme.css?v={self.accent[1:]}" if self.accent else ""


IDENTITY_FIELDS = tuple(f.name for f in fields(Identity))
LEGAL_FIELDS = ("publisher", "director", "host", "contact_email")


def identity_from_rows(rows: dict[str, Any]) -> Identity:
    values = {}
    for name in IDENTITY_FIELDS:
        value = rows.get(IDENTITY_PREFIX + name)
        values[name] = value if isinstance(value, str) else ""
    return Identity(**values)


def read_identity(session: Session) -> Identity:
    """One indexed read of the identity's rows."""
    keys = [IDENTITY_PREFIX + name for name in IDENTITY_FIELDS]
    statement = select(SiteSetting).where(col(SiteSetting.key).in_(keys))
    return identity_from_rows({row.key: row.value for row in session.exec(statement)})


# --- pages ---------------------------------------------------------------------------------


@cache
def default_page(locale: str, name: str) -> str:
    """The shipped Markdown of a page (read once per process)."""
    return (RESOURCES / "templates" / "pages" / locale / f"{name}.md").read_text(encoding="utf-8")


def stored_page(session: Session, locale: str, name: str) -> str | None:
    """The admin's Markdown for this page, or None while the shipped default is used."""
    row = session.get(SiteSetting, page_key(locale, name))
    value = row.value if row is not None else None
    return value if isinstance(value, str) and value.strip() else None


def page_source(session: Session, locale: str, name: str) -> str:
    return stored_page(session, locale, name) or default_page(locale, name)


# What a page says where a value is missing: plain words, never a bracketed placeholder.
NOT_GIVEN = {
    "fr": {
        "name": "l'association qui porte la fabrique à initiatives",
        "territory": "celui de la fabrique",
        "contact": "l'adresse de contact de l'association, qui n'est pas encore publiée ici",
        "publisher": "pas encore indiqué sur ce site",
        "director": "pas encore indiqué sur ce site",
        "host": "pas encore indiqué sur ce site",
    },
    "en": {
        "name": "the association that runs the fabrique à initiatives",
        "territory": "our area",
        "contact": "the association's contact address, which is not published here yet",
        "publisher": "not given on this site yet",
        "director": "not given on this site yet",
        "host": "not given on this site yet",
    },
}
VARIABLES = (
    "name",
    "territory",
    "contact",
    "publisher",
    "director",
    "host",
    "site_url",
    "anti_abuse_retention",
)
_VARIABLE = re.compile(r"\{(" + "|".join(VARIABLES) + r")\}")
# Markdown's own punctuation in a value is written as text, not read as formatting.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>#|~])")


def _escape(value: str) -> str:
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", value)


def _multiline(value: str) -> str:
    # Publisher and host are typed on several lines: kept as line breaks of one paragraph.
    return "  \n".join(_escape(line.strip()) for line in value.splitlines() if line.strip())


def retention_words(days: int, locale: str) -> str:
    """How long the anti-abuse records stay (BOURSE_RATE_EVENTS_DAYS), in the page's words:
    the privacy page states it as the worker applies it."""
    if locale == "en":
        return "24 hours" if days == 1 else f"{days} days"
    return "24 heures" if days == 1 else f"{days} jours"


def substitutions(identity: Identity, locale: str, settings: Settings) -> dict[str, str]:
    missing = NOT_GIVEN.get(locale, NOT_GIVEN["fr"])
    email = identity.contact_email
    return {
        "name": _escape(identity.name) or missing["name"],
        "territory": _escape(identity.territory) or missing["territory"],
        "contact": f"[{_escape(email)}](mailto:{email})" if email else missing["contact"],
        "publisher": _multiline(identity.publisher) or missing["publisher"],
        "director": _escape(identity.director) or missing["director"],
        "host": _multiline(identity.host) or missing["host"],
        "site_url": settings.base_url,
        "anti_abuse_retention": retention_words(settings.rate_events_days, locale),
    }


def fill(source: str, values: dict[str, str]) -> str:
    """The Markdown with its `{variables}` replaced; other braces are left as typed."""
    return _VARIABLE.sub(lambda match: values[match.group(1)], source)


@dataclass(frozen=True)
class RenderedPage:
    title: str
    html: str


def render_page(source: str, identity: Identity, locale: str, settings: Settings) -> RenderedPage:
    """Sanitised HTML of a page (app.core.text), and its title (the first `# ` heading)."""
    filled = fill(source, substitutions(identity, locale, settings))
    return RenderedPage(title=page_title(filled), html=render_page_markdown(filled))


def page_title(source: str) -> str:
    for line in source.splitlines():
        if line.startswith("# "):
            return re.sub(r"\\(.)", r"\1", line[2:].strip().strip("#").strip())
    return ""


# --- accent colour -------------------------------------------------------------------------

DEFAULT_TINT_BACKGROUND = "#eef2f7"  # --color-surface, the darkest light background in app.css


def theme_css(accent: str) -> str:
    """The accent as app.css's custom properties. The admin's colour already has 4.5:1 with
    white text (checked when saved); links also sit on the light grey surfaces (footer, cards,
    the tint of the current page), so the colour used is darkened just enough to keep 4.5:1
    there too. Hover and the tint are derived from it."""
    tint = mix_with_white(accent, 0.1)
    darkest = min(tint, DEFAULT_TINT_BACKGROUND, key=luminance)
    primary = darken_for(accent, darkest)
    return (
        ":root {\n"
        f"  --color-primary: {primary};\n"
        f"  --color-primary-dark: {scale(primary, 0.75)};\n"
        f"  --color-primary-tint: {tint};\n"
        f"  --focus-color: {primary};\n"
        "}\n"
    )
