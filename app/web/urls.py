"""Addresses the site builds for its own pages, and the check on addresses it is given back.

The web layer knows no domain: what it needs of a need to address it (its id and slug) is all
it asks for.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from app.web.i18n import gettext as _


class Addressable(Protocol):
    """Anything with an id and a slug (a need, or its row read as columns)."""

    @property
    def id(self) -> int | None: ...

    @property
    def slug(self) -> str: ...


def need_url(need: Addressable) -> str:
    """The need page's canonical path."""
    return f"/needs/{need.id}-{need.slug}"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: `next` must never send someone to another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def web_address_error(url: str, maximum: int, too_long: str) -> str | None:
    """Why an address typed in a form (stripped, not empty) is no complete http(s) web address
    of at most `maximum` characters, or None. `too_long` says the length in its field's words."""
    if len(url) > maximum:
        return too_long
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # a bracketed host that is no IPv6 address (`http://[x`): not an address
        hostname = None
    if (
        not hostname
        or parts.scheme.lower() not in ("http", "https")
        or any(c.isspace() for c in url)
    ):
        return _("Indiquez une adresse web complète, commençant par https:// ou http://.")
    return None
