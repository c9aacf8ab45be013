"""Parsing of ids, page numbers and numbers that arrive as text (URL parts, form fields).

`str.isdigit()` accepts "²" and other Unicode digits that int() refuses, and an id beyond the
database's integer type makes PostgreSQL fail: every route parses ids here instead.
"""

from __future__ import annotations

from app.web.i18n import gettext as _

MAX_ID = 2**31 - 1  # the largest value of an INTEGER column on both engines
UNBOUNDED_PAGE_MAX = 10**18


def parse_id(raw: str | None) -> int | None:
    """A database id from text, or None when it is empty, not ASCII digits, or out of range."""
    raw = (raw or "").strip()
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def is_valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def parse_page(raw: str | None, errors: dict[str, str], *, unbounded: bool = False) -> int:
    """A list's page number from the URL, 1 when absent. Anything but a whole number from 1
    puts a message under "page" in `errors` and gives 1. A bounded list refuses what no id
    could number (its offset must fit the database); an `unbounded` one (the board, which is
    simply empty past its last page) takes any number, capped far beyond any real list."""
    raw = raw or "1"
    if unbounded:
        digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else ""
        # Eighteen digits at most: int() of thousands of digits is slow, then refused.
        page = (UNBOUNDED_PAGE_MAX if len(digits) > 18 else int(digits)) if digits else None
    else:
        page = parse_id(raw)
    if page is None:
        errors["page"] = _("Le numéro de page doit être un nombre entier à partir de 1.")
        return 1
    return page
