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
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Connection

from app.board.models import Comment, Follow, Need, Support
from app.board.supports import supported_among
from app.web.params import parse_id
from app.web.personal import Shared
from app.web.personal_path import FastPage, Reads, register


def supported_on_board(db: Connection, person_id: int, entry: Shared) -> set[int]:
    """The page's needs (its variants' keys) that the person supports."""
    return supported_among(db, person_id, [key for key in entry.variants if isinstance(key, int)])


def board_reads(_match: re.Match[str], hint: tuple[Hashable, ...]) -> Reads | None:
    """Whether the person supports each need the page showed last time (`hint`): one EXISTS
    each, read with the person."""
    ids = [key for key in hint if isinstance(key, int)][:_MAX_CARDS]
    if not ids:
        return None

    def build(person_id: Any) -> list[Any]:
        return [
            exists().where(
                Support.need_id == bindparam(f"p_n{i}"),  # type: ignore[arg-type]
                Support.user_id == person_id,  # type: ignore[arg-type]
            )
            for i in range(len(ids))
        ]

    return Reads(("board", len(ids)), build, {f"p_n{i}": need for i, need in enumerate(ids)})


# A board page shows 20 needs; more than this would be another page size than the board's.
_MAX_CARDS = 100


def board_mine(values: tuple[Any, ...], reads: Reads | None, entry: Shared) -> set[int] | None:
    """The supported needs among the entry's, or None when the reads named other needs."""
    if reads is None:
        return None
    ids = list(reads.params.values())
    if set(ids) != {key for key in entry.variants if isinstance(key, int)}:
        return None
    return {need for need, supported in zip(ids, values, strict=True) if supported}


def need_reads(match: re.Match[str], _hint: tuple[Hashable, ...]) -> Reads | None:
    """The need (does it exist, who wrote it) and the person's relation to it: whether they
    commented, their support (id, concern, territory) and whether they follow it."""
    need_id = parse_id(match["ref"].split("-", 1)[0])
    if need_id is None:
        return None
    return Reads("need", _need_columns, {"p_need": need_id})


def _need_columns(person_id: Any) -> list[Any]:
    need = bindparam("p_need")
    mine = (Support.need_id == need, Support.user_id == person_id)
    return [
        select(Need.id).where(Need.id == need).scalar_subquery(),  # type: ignore[arg-type]
        select(Need.author_id).where(Need.id == need).scalar_subquery(),  # type: ignore[arg-type]
        exists().where(Comment.need_id == need, Comment.author_id == person_id),  # type: ignore[arg-type]
        select(Support.id).where(*mine).scalar_subquery(),  # type: ignore[arg-type]
        select(Support.concern).where(*mine).scalar_subquery(),  # type: ignore[arg-type]
        select(Support.territory_id).where(*mine).scalar_subquery(),  # type: ignore[arg-type]
        exists().where(Follow.need_id == need, Follow.user_id == person_id),  # type: ignore[arg-type]
    ]


def need_shape(
    values: tuple[Any, ...], person_id: int, _match: re.Match[str]
) -> tuple[Hashable, ...] | None:
    """What the need page's route adds to the key (`shared.refine(support, following)`), or None
    when the page is the person's own (they wrote the need or a comment) or the need is unknown."""
    found, author_id, commented, support_id, concern, territory_id, following = values
    if found is None or author_id == person_id or commented:
        return None
    support = (concern, territory_id) if support_id is not None else None
    return (support, bool(following))


register(
    FastPage(
        "board",
        re.compile(r"/"),
        reads=board_reads,
        mine=board_mine,
        mine_again=supported_on_board,
    )
)
register(
    FastPage(
        "need",
        re.compile(r"/needs/(?P<ref>[^/]+)"),
        roles=frozenset({"resident"}),
        reads=need_reads,
        extras=need_shape,
    )
)
