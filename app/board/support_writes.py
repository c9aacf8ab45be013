"""The statements of « Moi aussi » on a Core connection, in the caller's transaction: the
support given or withdrawn with its need's counters (the rules are in app.board.supports'
docstring: the write on `supports` decides, counters move relatively, in one transaction),
for the service (app.board.supports.add_support, remove_support) and for the ways in answered
before routing (app/syndication/support_path.py, app/board/support_form_path.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, bindparam, case, delete, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.board.locks import lock_visible, visible_row_lock
from app.board.models import Need, Support
from app.board.trending import support_weight, support_weight_sql
from app.core import ratelimit

# The statements of « Moi aussi », built once: they run under SQLite's one-writer lock, where
# building and keying them each time was a fifth of a toggle's CPU. Executed on the session's
# connection (Core): nothing the session holds is changed by them, and the counts come back
# with RETURNING.
_INSERTS = {
    name: dialect.insert(Support)
    .on_conflict_do_nothing(index_elements=["need_id", "user_id"])
    .returning(Support.id)  # type: ignore[arg-type]
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_WEIGHT = bindparam("p_weight", type_=Float)


def _counters(given: bool, weight: Any) -> dict[str, Any]:
    """The need's counters after a support given (`given`) or withdrawn, of `weight`: the
    score clamped at 0 (float rounding) and exactly 0 when the last support goes."""
    if given:
        return {
            "supports_count": Need.supports_count + 1,
            "trending_score": Need.trending_score + weight,
        }
    return {
        "supports_count": Need.supports_count - 1,
        "trending_score": case(
            (Need.supports_count <= 1, 0.0),
            (Need.trending_score - weight > 0, Need.trending_score - weight),
            else_=0.0,
        ),
    }


_RETURNED = (Need.supports_count, Need.trending_score)
_BUMPS = {
    True: update(Need)
    .where(Need.id == bindparam("p_need"))  # type: ignore[arg-type]
    .values(**_counters(True, _WEIGHT))
    .returning(*_RETURNED),  # type: ignore[arg-type]
    False: update(Need)
    .where(Need.id == bindparam("p_need"))  # type: ignore[arg-type]
    .values(**_counters(False, _WEIGHT))
    .returning(*_RETURNED),  # type: ignore[arg-type]
}
# PostgreSQL: the insert and the count in one statement. The UPDATE reads what the INSERT
# returned, so it runs only when a row went in; it sees the need's row as the lock left it (a
# new statement, a new snapshot, after app.board.locks took the row).
_GIVEN = (
    postgresql.insert(Support)
    .values(
        need_id=bindparam("p_need"),
        user_id=bindparam("p_user"),
        created_at=bindparam("p_created_at"),
        concern=bindparam("p_concern"),
        territory_id=bindparam("p_territory"),
    )
    .on_conflict_do_nothing(index_elements=["need_id", "user_id"])
    .returning(Support.need_id)  # type: ignore[arg-type]
    .cte("given")
)
_GIVE_POSTGRESQL = (
    update(Need)
    .where(Need.id == _GIVEN.c.need_id)  # type: ignore[arg-type]
    .values(**_counters(True, _WEIGHT))
    .returning(*_RETURNED)  # type: ignore[arg-type]
)
_WITHDRAW = (
    delete(Support)
    .where(Support.need_id == bindparam("p_need"), Support.user_id == bindparam("p_user"))  # type: ignore[arg-type]
    .returning(Support.created_at)  # type: ignore[arg-type]
)

# PostgreSQL, when the toggle is the only write of its transaction (no rate limits to count,
# no lock taken before): the need's row taken if it is public, the support given or withdrawn
# and the counters moved, in one statement run in autocommit — one round trip where a
# transaction took five (BEGIN, the lock, the write and its counters, COMMIT). Each step reads
# the one before it, so it runs only if that one found its row. The statement's snapshot is
# taken before the lock is granted, but the counters' UPDATE follows the row to its latest
# version (READ COMMITTED), which nobody else can change while the lock is held: the counts
# stay exact. What the snapshot may miss is a support the same account gave in another
# request that committed while this one waited for the lock; the withdrawal then finds
# nothing, as if it had come first.
_LOCKED = visible_row_lock().cte("locked")
_CREATED_AT = bindparam("p_created_at", type_=Support.__table__.c.created_at.type)  # type: ignore[attr-defined]
_GIVEN_AT_ONCE = (
    postgresql.insert(Support)
    .from_select(
        ["need_id", "user_id", "created_at"],
        sa_select(_LOCKED.c.id, bindparam("p_user", type_=Integer), _CREATED_AT),
    )
    .on_conflict_do_nothing(index_elements=["need_id", "user_id"])
    .returning(Support.need_id)  # type: ignore[arg-type]
    .cte("given")
)
_GONE_AT_ONCE = (
    delete(Support)
    .where(
        Support.need_id == _LOCKED.c.id,  # type: ignore[arg-type]
        Support.user_id == bindparam("p_user", type_=Integer),  # type: ignore[arg-type]
    )
    .returning(Support.need_id, Support.created_at)  # type: ignore[arg-type]
    .cte("gone")
)


def _at_once(moved: Any) -> Any:
    """The statement's answer: the need's count when locked, its slug, and its new count, or
    null when the support was already there (a give) or not there (a withdrawal)."""
    return sa_select(
        _LOCKED.c.supports_count,
        _LOCKED.c.slug,
        sa_select(moved.c.supports_count).scalar_subquery(),
    )


_AT_ONCE = {
    True: _at_once(
        update(Need)
        .where(Need.id == _GIVEN_AT_ONCE.c.need_id)  # type: ignore[arg-type]
        .values(**_counters(True, _WEIGHT))
        .returning(Need.supports_count)  # type: ignore[arg-type]
        .cte("moved")
    ),
    False: _at_once(
        update(Need)
        .where(Need.id == _GONE_AT_ONCE.c.need_id)  # type: ignore[arg-type]
        .values(**_counters(False, support_weight_sql(_GONE_AT_ONCE.c.created_at)))
        .returning(Need.supports_count)  # type: ignore[arg-type]
        .cte("moved")
    ),
}


def give(
    connection: Connection,
    need_id: int,
    user_id: int,
    *,
    now: datetime,
    concern: str | None = None,
    territory_id: int | None = None,
) -> tuple[int, float] | None:
    """The support itself, on a Core connection in the caller's transaction, after the need's
    row was taken (app.board.locks): the need's new (supports_count, trending_score), or None
    when the account already supported it (nothing changed). Shared by add_support() and the
    API's way in before routing (app/syndication/support_path.py)."""
    if connection.dialect.name == "postgresql":
        # One round trip instead of two: the count moves only if the row went in.
        row = connection.execute(
            _GIVE_POSTGRESQL,
            {
                "p_need": need_id,
                "p_user": user_id,
                "p_created_at": now,
                "p_concern": concern,
                "p_territory": territory_id,
                "p_weight": support_weight(now),
            },
        ).first()
        return (row[0], row[1]) if row is not None else None
    inserted = connection.execute(
        _INSERTS[connection.dialect.name],
        {
            "need_id": need_id,
            "user_id": user_id,
            "created_at": now,
            "concern": concern,
            "territory_id": territory_id,
        },
    ).first()
    if inserted is None:
        return None
    row = connection.execute(
        _BUMPS[True], {"p_need": need_id, "p_weight": support_weight(now)}
    ).one()
    return row[0], row[1]


def withdraw(connection: Connection, need_id: int, user_id: int) -> tuple[int, float] | None:
    """The withdrawal, as give(): the new counters, or None when there was no support."""
    # Always asks the database: a Support a session loaded earlier is never taken for one
    # that still exists.
    deleted = connection.execute(_WITHDRAW, {"p_need": need_id, "p_user": user_id}).first()
    if deleted is None:
        return None
    row = connection.execute(
        _BUMPS[False], {"p_need": need_id, "p_weight": support_weight(deleted[0])}
    ).one()
    return row[0], row[1]


def toggle_on(
    connection: Connection,
    need_id: int,
    user_id: int,
    want: bool,
    *,
    now: datetime,
    address: str | None,
    locked: tuple[int, str] | None = None,
) -> tuple[int, str, bool | None] | None:
    """« Moi aussi » for the ways in before routing (app/syndication/support_path.py, app/board/
    support_form_path.py), on a Core connection in the caller's transaction, for an account
    the caller found allowed to participate: the rate limits when `address` is given (the
    client's), the need's row taken if it is public, the support given (`want`) or withdrawn.
    Returns (the need's support count, its slug, what changed: True a support given now,
    False none any more, None it was already there), or None when the route must answer (a
    limit reached or its counters held by another write of the same account or address, a
    need that is not public): then nothing was written.

    `locked`: (support count, slug) when the caller took the need's row already
    (app.board.locks.visible_lock_with)."""
    if locked is None:
        locked = lock_visible(connection, need_id)
        if locked is None:
            return None
    if address is not None:
        # The need's row first (on SQLite the write turn with it, so the counters are read
        # by one writer at a time), then the counters without waiting: the route, which
        # holds the counters before the row, answers when another write has them.
        if not ratelimit.hold(connection, "support", user_id=user_id, ip=address, wait=False):
            return None
        limited = ratelimit.over_limit(connection, "support", user_id=user_id, ip=address, now=now)
        if limited is not None:
            return None
        ratelimit.record(
            connection, ratelimit.events("support", user_id=user_id, ip=address, now=now)
        )
    counts = (
        give(connection, need_id, user_id, now=now)
        if want
        else withdraw(connection, need_id, user_id)
    )
    changed: bool | None = (True if counts is not None else None) if want else False
    return (counts[0] if counts is not None else locked[0]), locked[1], changed


def toggle_at_once(
    connection: Connection, need_id: int, user_id: int, want: bool, *, now: datetime
) -> tuple[int, str, bool | None] | None:
    """toggle_on() without rate limits, in one statement (see _AT_ONCE): PostgreSQL only, on
    a connection in autocommit, so that the statement is its own transaction. The same
    answer as toggle_on(); None when the need is not public (nothing written)."""
    row = connection.execute(
        _AT_ONCE[want],
        {
            "p_need": need_id,
            "p_user": user_id,
            "p_created_at": now,
            "p_weight": support_weight(now),
        },
    ).first()
    if row is None:
        return None
    count, slug, moved = row
    changed: bool | None = (True if moved is not None else None) if want else False
    return (moved if moved is not None else count), slug, changed
