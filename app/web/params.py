"""Parsing of ids and numbers that arrive as text (URL parts, form fields).

`str.isdigit()` accepts "²" and other Unicode digits that int() refuses, and an id beyond the
database's integer type makes PostgreSQL fail: every route parses ids here instead.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1  # the largest value of an INTEGER column on both engines


def parse_id(raw: str | None) -> int | None:
    """A database id from text, or None when it is empty, not ASCII digits, or out of range."""
    raw = (raw or "").strip()
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def is_valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID
