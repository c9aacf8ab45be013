"""Addresses the site builds for its own pages, and the check on addresses it is given back.

The web layer knows no domain: what it needs of a need to address it (its id and slug) is all
it asks for.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import SplitResult, urlsplit

from app.web.i18n import gettext as _


class Addressable(Protocol):
    """Anything with an id and a slug (a need, or its row read as columns)."""

    @property
    def id(self) -> int | None: ...

    @property
    def slug(self) -> str: ...


def split_url(url: str) -> SplitResult | None:
    """urlsplit(url), or None when it cannot be read as an address: Python raises on a host in
    brackets that is no IPv6 address (`http://[x`, `//[x`), which a client may send anywhere (a
    `next`, an Origin header, a form field) and must get the answer to a bad address, never a
    500. (`.port` may still raise on a port that is no number: callers that read it say so.)"""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018  (raises on what urlsplit lets through)
    except ValueError:
        return None
    return parts


def need_url(need: Addressable) -> str:
    """The need page's canonical path."""
    return f"/needs/{need.id}-{need.slug}"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: `next` must never send someone to another site."""
    if not target:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = split_url(target)
    if parts is None or parts.scheme or parts.netloc:
        return default
    if "\\" in target:
        return default
    return target


def web_address_error(url: str, maximum: int, too_long: str) -> str | None:
    """Why an address typed in a form (stripped, not empty) is no complete http(s) web address
    of at most `maximum` characters, or None. `too_long` says the length in its field's words."""
    if len(url) > maximum:
        return too_long
    parts = split_url(url)
    if (
        parts is None
        or not parts.hostname
        or parts.scheme.lower() not in ("http", "https")
        or any(c.isspace() for c in url)
    ):
        return _("Indiquez une adresse web complète, commençant par https:// ou http://.")
    return None
