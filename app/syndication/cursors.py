"""Keyset pages for the API's idea list: newest first on (created_at, id), a key that never
changes, so walking the pages visits each public idea once even while ideas are added.

(Needs use the board's own cursors, app.board.queries.board_needs, with `after=`.)
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_

from app.board.queries import BadCursor, cursor_datetime
from app.web.params import is_valid_id


def encode_idea_cursor(idea: Any) -> str:
    raw = json.dumps([idea.created_at.isoformat(), idea.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_idea_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, idea_id = json.loads(raw)
        if not isinstance(idea_id, int) or isinstance(idea_id, bool) or not is_valid_id(idea_id):
            raise ValueError
        when = cursor_datetime(value)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error, OverflowError):
        raise BadCursor(cursor) from None
    return when, idea_id


def ideas_after(statement: Any, cursor: str) -> Any:
    """`statement` (a select of Idea) restricted to the ideas after the cursor, newest first."""
    from app.pipeline.models import Idea

    when, idea_id = decode_idea_cursor(cursor)
    return statement.where(
        or_(Idea.created_at < when, and_(Idea.created_at == when, Idea.id < idea_id))  # type: ignore[operator, arg-type]
    )
