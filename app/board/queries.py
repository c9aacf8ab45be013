"""Read paths of the board. `visible_needs()` is the only public read path for needs: every
public surface (board, need page, search, similar needs, feeds, API, embed) starts from it, so a
pending, hidden, rejected, merged or deleted need cannot leak by a forgotten filter."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, literal, or_, tuple_
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.board.filters import SORT_BY_KEY, STATUS_FILTERS, BoardFilters, stage_clause
from app.board.models import PUBLIC_NEED_STATUSES, Need, Territory, Theme
from app.board.permissions import can_view_need
from app.board.search import best_matching_ids, matching_needs, similarity_terms
from app.web.errors import NotFound
from app.web.i18n import gettext as _
from app.web.params import is_valid_id


def visible_needs() -> SelectOfScalar[Need]:
    return select(Need).where(
        Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
    )


def get_visible_need(session: Session, need_id: int) -> Need:
    """A public need, or NotFound (404) — for writes that only public needs accept."""
    need = (
        session.exec(visible_needs().where(Need.id == need_id)).first()
        if is_valid_id(need_id)
        else None
    )
    if need is None:
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need


def get_need_for(session: Session, need_id: int, user: User | None) -> Need:
    """A need as `user` may see it (authors and moderators also see non-public ones)."""
    need = session.get(Need, need_id) if is_valid_id(need_id) else None
    if need is None or not can_view_need(user, need):
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need


PER_PAGE = 20
# Beyond this page the list is certainly empty for any real board: answer without a query.
MAX_PAGE = 10_000


class BadCursor(ValueError):
    """A page link whose position cannot be read (edited or truncated by hand)."""


@dataclass
class BoardPage:
    needs: list[Need]
    has_next: bool
    filters: BoardFilters

    @property
    def next_cursor(self) -> str:
        return encode_cursor(self.needs[-1], self.filters.sort) if self.needs else ""

    @property
    def prev_cursor(self) -> str:
        return encode_cursor(self.needs[0], self.filters.sort) if self.needs else ""


def encode_cursor(need: Need, sort: str) -> str:
    value = getattr(need, SORT_BY_KEY[sort].column.key)  # type: ignore[attr-defined]
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, need.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_datetime(value: Any) -> datetime:
    """The aware UTC datetime a cursor carries, or ValueError (OverflowError at the calendar's
    edges is a ValueError here too)."""
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise ValueError
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError(value) from None


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, need_id = json.loads(raw)
        # Only what a real page could have written: anything else would reach the database
        # as a value it cannot bind (an id past 64 bits, a date past year 9999 once in UTC).
        if not isinstance(need_id, int) or isinstance(need_id, bool) or not is_valid_id(need_id):
            raise ValueError
        if sort == "recent":
            value = cursor_datetime(value)
        elif sort == "trending":
            value = float(value)
            if not math.isfinite(value):
                raise ValueError
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error, OverflowError):
        raise BadCursor(cursor) from None
    return value, need_id


def _ordering(sort: str, *, ascending: bool = False) -> list:  # type: ignore[type-arg]
    column = SORT_BY_KEY[sort].column
    # id breaks ties, so the order is total and pages never repeat or skip a need.
    if ascending:
        return [column.asc(), Need.id.asc()]  # type: ignore[union-attr, attr-defined]
    return [column.desc(), Need.id.desc()]  # type: ignore[union-attr, attr-defined]


def _beyond(sort: str, cursor: str, *, after: bool, dialect: str) -> Any:
    """Rows strictly after (or before) the cursor in board order, in the form each engine
    serves from the (sort key, id) index: a row comparison for PostgreSQL, an OR for SQLite
    (whose planner does not range-scan row values)."""
    value, need_id = decode_cursor(cursor, sort)
    column = SORT_BY_KEY[sort].column
    if dialect == "postgresql":
        key = tuple_(column, Need.id)
        bound = tuple_(literal(value, type_=column.type), literal(need_id))  # type: ignore[attr-defined]
        return key < bound if after else key > bound
    if after:
        return or_(column < value, and_(column == value, Need.id < need_id))  # type: ignore[operator]
    return or_(column > value, and_(column == value, Need.id > need_id))  # type: ignore[operator]


def board_needs(session: Session, filters: BoardFilters, per_page: int = PER_PAGE) -> BoardPage:
    """One page of the board: one query, served by the sort's index (see Need.__table_args__).

    Next/previous links carry a keyset cursor, so page 2,000 costs what page 2 costs; a bare
    `page=N` (typed or shared by hand) falls back to an offset. Raises BadCursor."""
    if filters.page > MAX_PAGE:
        return BoardPage([], False, filters)
    statement = visible_needs()
    if filters.theme is not None:
        statement = statement.where(Need.theme_id == filters.theme.id)
    if filters.territory is not None:
        statement = statement.where(Need.territory_id == filters.territory.id)
    if filters.status:
        statement = statement.where(Need.status == STATUS_FILTERS[filters.status])
    if filters.answer == "yes":
        # Served by the partial index ix_needs_answered (migration 0012).
        statement = statement.where(Need.answer_at.is_not(None))  # type: ignore[union-attr]
    elif filters.answer == "no":
        statement = statement.where(Need.answer_at.is_(None))  # type: ignore[union-attr]
    if filters.stage:
        # A semi-join from the few needs of public ideas at that stage (ideas by stage, then
        # idea_needs by idea), not a scan of the board (app/pipeline/need_filters.py).
        statement = statement.where(stage_clause(filters.stage))
    dialect = session.get_bind().dialect.name
    if filters.q:
        matched = matching_needs(session, statement, filters.q)
        if matched is not None:
            statement = matched
    if filters.before:
        # Walk backwards from the first need of the page we came from, then restore order.
        statement = statement.where(
            _beyond(filters.sort, filters.before, after=False, dialect=dialect)
        )
        rows = list(
            session.exec(
                statement.order_by(*_ordering(filters.sort, ascending=True)).limit(per_page)
            )
        )
        return BoardPage(rows[::-1], True, filters)
    if filters.after:
        statement = statement.where(
            _beyond(filters.sort, filters.after, after=True, dialect=dialect)
        )
    else:
        statement = statement.offset((filters.page - 1) * per_page)
    rows = list(session.exec(statement.order_by(*_ordering(filters.sort)).limit(per_page + 1)))
    return BoardPage(rows[:per_page], len(rows) > per_page, filters)


def similar_needs(
    session: Session, title: str, *, limit: int = 5, exclude_id: int | None = None
) -> list[Need]:
    """Public needs that look like `title`, best match first: shown while someone types a new
    need, so they can support an existing one instead.

    Needs sharing all the significant words come first; then the least specific word (the
    shortest) is dropped, and so on down to two words; any single word only when nothing
    matched by then. Matching ANY word would rank thousands
    of needs that merely share "garde" or "transport" (80–200 ms at 100,000 needs); each
    narrowing step is an index intersection of a few milliseconds.
    """
    terms = sorted(similarity_terms(title), key=len, reverse=True)[:5]
    if not terms:
        return []
    dialect = session.get_bind().dialect.name
    found: dict[int, Need] = {}

    def take(candidate_ids: list[int]) -> None:
        wanted = [i for i in candidate_ids if i not in found and i != exclude_id]
        if not wanted:
            return
        visible = {n.id: n for n in session.exec(visible_needs().where(Need.id.in_(wanted)))}  # type: ignore[union-attr]
        for i in wanted:  # keep the ranking order
            if i in visible:
                found[i] = visible[i]

    for size in range(len(terms), min(2, len(terms)) - 1, -1):
        take(best_matching_ids(session, dialect, terms[:size], limit * 2))
        if len(found) >= limit:
            break
    if not found and len(terms) > 1:
        # No two words in common with anything public: either of the two most specific words
        # will do (not every word: "aide" or a town name would rank thousands of needs).
        take(best_matching_ids(session, dialect, terms[:2], limit * 2, any_term=True))
    return list(found.values())[:limit]


def categories(
    session: Session, *, include_archived: bool = False
) -> tuple[list[Theme], list[Territory]]:
    """Themes and territories in their display order (two small queries): the active ones to
    offer in forms and filters, all of them to name what existing needs point to (an archived
    theme still labels its needs)."""
    themes = select(Theme).order_by(Theme.position, Theme.name)  # type: ignore[arg-type]
    territories = select(Territory).order_by(Territory.position, Territory.name)  # type: ignore[arg-type]
    if not include_archived:
        themes = themes.where(Theme.archived_at.is_(None))  # type: ignore[union-attr]
        territories = territories.where(Territory.archived_at.is_(None))  # type: ignore[union-attr]
    return list(session.exec(themes).all()), list(session.exec(territories).all())


def categories_keeping(
    session: Session, theme_id: int | None, territory_id: int | None
) -> tuple[list[Theme], list[Territory]]:
    """The active themes and territories, plus the theme and territory a need or idea already
    has when archived since: its form shows them chosen, and saving it unchanged keeps them."""
    themes, territories = categories(session)
    for items, model, current_id in (
        (themes, Theme, theme_id),
        (territories, Territory, territory_id),
    ):
        if current_id and all(item.id != current_id for item in items):
            current = session.get(model, current_id)
            if current is not None:
                items.append(current)  # type: ignore[arg-type]
    return themes, territories
