"""The board's pages answered before routing from their shared render (app/web/personal_path.py):
what of each page is the person's, read with Core statements built once.

They must give exactly what the routes give `SharedPage` (app/board/routes.py): the board's
variants are the cards of the needs the person supports; the need page is shared by residents
who wrote neither the need nor a comment on it, keyed by their support (concern, territory)
and whether they follow it.
"""

from __future__ import annotations

import re
from collections.abc import Hashable

from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.engine import Connection

from app.board.models import Comment, Follow, Need, Support
from app.web.params import parse_id
from app.web.personal import Shared
from app.web.personal_path import FastPage, register

_SUPPORTED_AMONG = select(Support.need_id).where(  # type: ignore[call-overload]
    Support.user_id == bindparam("p_user"),  # type: ignore[arg-type]
    Support.need_id.in_(bindparam("p_needs", expanding=True)),  # type: ignore[attr-defined]
)


def supported_on_board(
    db: Connection, person_id: int, _match: re.Match[str], entry: Shared
) -> set[int]:
    """The page's needs (its variants' keys) that the person supports."""
    ids = [key for key in entry.variants if isinstance(key, int)]
    if not ids:
        return set()
    return set(db.execute(_SUPPORTED_AMONG, {"p_user": person_id, "p_needs": ids}).scalars())


# The need's author, whether the person commented on it, their support and whether they follow
# it: one row, or none when the need does not exist.
_NEED_FOR_PERSON = (
    select(
        Need.author_id,  # type: ignore[arg-type]
        exists()
        .where(Comment.need_id == Need.id, Comment.author_id == bindparam("p_user"))  # type: ignore[arg-type]
        .correlate(Need),
        Support.id,  # type: ignore[arg-type]
        Support.concern,  # type: ignore[arg-type]
        Support.territory_id,  # type: ignore[arg-type]
        exists()
        .where(Follow.need_id == Need.id, Follow.user_id == bindparam("p_user"))  # type: ignore[arg-type]
        .correlate(Need),
    )
    .select_from(Need)
    .outerjoin(
        Support,
        and_(Support.need_id == Need.id, Support.user_id == bindparam("p_user")),  # type: ignore[arg-type]
    )
    .where(Need.id == bindparam("p_need"))  # type: ignore[arg-type]
)


def need_shape(db: Connection, person_id: int, match: re.Match[str]) -> tuple[Hashable, ...] | None:
    """What the need page's route adds to the key (`shared.refine(support, following)`), or None
    when the page is the person's own (they wrote the need or a comment) or the need is unknown."""
    need_id = parse_id(match["ref"].split("-", 1)[0])
    if need_id is None:
        return None
    row = db.execute(_NEED_FOR_PERSON, {"p_user": person_id, "p_need": need_id}).first()
    if row is None:
        return None
    author_id, commented, support_id, concern, territory_id, following = row
    if author_id == person_id or commented:
        return None
    support = (concern, territory_id) if support_id is not None else None
    return (support, bool(following))


register(FastPage("board", re.compile(r"/"), mine=supported_on_board))
register(
    FastPage(
        "need",
        re.compile(r"/needs/(?P<ref>[^/]+)"),
        roles=frozenset({"resident"}),
        extras=need_shape,
    )
)
