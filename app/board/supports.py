"""Supports (« Moi aussi »): one per account and need, counted on the need, and evidence of
demand for the opportunity study.

Decisions:

- **The author supports their own need, automatically** (Fider's choice, not Decidim's):
  posting a need is the first evidence that someone has it, so a new need starts at one support
  with the concern « j'ai ce besoin ». The need-creation code calls
  `add_support(session, need, author, concern="has_need", commit=False)` in its own
  transaction. The author can withdraw like anyone else.
- **Counts stay exact under concurrency.** The support row and the need's `supports_count` and
  `trending_score` change in the same transaction, the counters with relative UPDATEs
  (`x = x + 1`), never read-then-write. The write on `supports` comes first and decides whether
  anything changes: `INSERT … ON CONFLICT (need_id, user_id) DO NOTHING RETURNING id` (the
  unique constraint is the arbiter: two concurrent clicks from one account insert one row, the
  other gets no row back and counts nothing) and `DELETE … RETURNING created_at` (only the
  request that really deleted the row decrements). No SAVEPOINT: with Python 3.11's sqlite3
  (legacy transaction control), a SAVEPOINT opened before any other write *is* the
  transaction, and its RELEASE commits the row on its own — the count would then be updated in
  a second transaction. ON CONFLICT needs no savepoint on either engine, and on PostgreSQL it
  does not abort the surrounding transaction the way a caught IntegrityError would.
  Transactions are short and start with a write, which on SQLite means waiting for the write
  lock (busy_timeout) rather than failing to upgrade a read lock.
- **Trending**: each support adds `support_weight(created_at)` to the need's score; withdrawing
  subtracts the weight of the deleted row's own `created_at`, clamped at 0 (float rounding), and
  the score is reset to exactly 0 when the last support goes.
- **Concern and territory** are optional, given in one click after supporting. The public sees
  counts per concern; staff also see them per territory (small counts per place could point at
  a person, so they are not public).
- Services commit (like app.accounts.service), except with `commit=False`, for callers that own
  the transaction. They do not check who may act or whether the need is public: routes do
  (permissions.can_participate, queries.get_visible_need) — the author's automatic support is
  given to a need still waiting for approval.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board.locks import lock_unchanged
from app.board.models import Concern, Need, OfflineCollection, Support, Territory
from app.board.support_writes import give, withdraw
from app.core.db import utcnow
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _

CONCERNS: tuple[str, ...] = tuple(c.value for c in Concern)


# --- validation --------------------------------------------------------------------------


def clean_concern(session: Session, concern: str | None, territory_id: int | None) -> None:
    """Raises Invalid (French messages, per field) unless `concern` is one of the four answers
    (or None) and `territory_id` is None or a territory still offered."""
    errors: dict[str, str] = {}
    if concern is not None and concern not in CONCERNS:
        errors["concern"] = _(
            "Cette réponse n'est pas proposée : choisissez l'une des quatre façons d'être "
            "concerné·e."
        )
    if territory_id is not None:
        territory = session.get(Territory, territory_id)
        if territory is None or territory.archived_at is not None:
            errors["territory"] = _("Ce territoire n'existe pas ou n'est plus proposé.")
    if errors:
        # The detail is what a page without the form (the error page) shows.
        raise Invalid(errors, detail=" ".join(errors.values()))


# --- writes (the statements themselves: app.board.support_writes) --------------------------


def _set_counts(need: Need, counts: tuple[int, float]) -> None:
    """The new values, set on the instance as loaded state (not as changes)."""
    set_committed_value(need, "supports_count", counts[0])
    set_committed_value(need, "trending_score", counts[1])


def add_support(
    session: Session,
    need: Need,
    user: User,
    *,
    concern: str | None = None,
    territory_id: int | None = None,
    commit: bool = True,
) -> bool:
    """`user` supports `need`. Idempotent: False (and nothing changed) if they already did.
    `concern` and `territory_id` are validated (Invalid) before anything is written."""
    clean_concern(session, concern, territory_id)
    if need.id is None or user.id is None:
        session.flush()  # a need (or account) created in the caller's transaction
    lock_unchanged(session, need)
    assert need.id is not None and user.id is not None
    counts = give(
        session.connection(),
        need.id,
        user.id,
        now=utcnow(),
        concern=concern,
        territory_id=territory_id,
    )
    if counts is not None:
        _set_counts(need, counts)
    if commit:
        session.commit()
    else:
        session.flush()
    return counts is not None


def remove_support(session: Session, need: Need, user: User, *, commit: bool = True) -> bool:
    """`user` withdraws their support. Idempotent: False if they did not support `need`."""
    lock_unchanged(session, need)
    assert need.id is not None and user.id is not None
    counts = withdraw(session.connection(), need.id, user.id)
    if counts is not None:
        _set_counts(need, counts)
    if commit:
        session.commit()
    return counts is not None


def toggle_support(
    session: Session, need: Need, user: User, *, want: bool | None = None, commit: bool = True
) -> bool:
    """Adds (`want=True`), withdraws (`want=False`) or flips (`want=None`) the support of
    `user`; returns whether they support the need afterwards.

    Forms send the wanted state (`action=add|remove`), so a double submission or a page left
    open in two tabs never undoes what the person meant; the flip is for callers that cannot.
    """
    if want is None:
        want = get_support(session, need, user) is None
    if want:
        add_support(session, need, user, commit=commit)
    else:
        remove_support(session, need, user, commit=commit)
    return want


def set_concern(
    session: Session,
    need: Need,
    user: User,
    concern: str | None,
    territory_id: int | None = None,
    *,
    commit: bool = True,
) -> Support:
    """Records how `user` is concerned by `need` (one of Concern) and, optionally, their
    territory. Answering implies supporting: if the person no longer supports the need (they
    withdrew in another tab), the support is given again with this answer."""
    if not concern:
        raise Invalid(
            {"concern": _("Choisissez comment vous êtes concerné·e.")},
            detail=_("Choisissez comment vous êtes concerné·e."),
        )
    clean_concern(session, concern, territory_id)
    # Update the row if there is one, else insert it. The same account's other requests may
    # add or withdraw in between (two tabs): each step is retried against what they did. Once
    # the UPDATE or the INSERT has touched the row it is ours until commit (a row lock on
    # PostgreSQL, the write lock on SQLite).
    for _attempt in range(3):
        updated = session.execute(
            update(Support)
            .where(Support.need_id == need.id, Support.user_id == user.id)  # type: ignore[arg-type]
            .values(concern=concern, territory_id=territory_id)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount:  # type: ignore[attr-defined]
            break
        if add_support(
            session, need, user, concern=concern, territory_id=territory_id, commit=False
        ):
            break
    else:
        raise Conflict(_("Votre soutien vient de changer dans un autre onglet : réessayez."))
    support = get_support(session, need, user, refresh=True)
    if commit:
        session.commit()
    return support  # type: ignore[return-value]


# --- reads -------------------------------------------------------------------------------


def get_support(
    session: Session, need: Need, user: User | None, *, refresh: bool = False
) -> Support | None:
    """The viewer's support of `need` (None for anonymous viewers or if they do not support)."""
    if user is None or user.id is None or need.id is None:
        return None
    query = select(Support).where(Support.need_id == need.id, Support.user_id == user.id)
    if refresh:
        query = query.execution_options(populate_existing=True)
    return session.exec(query).first()


# Every signed-in board asks (app/web/personal.py fills the marks in per person): built once,
# run on the session's connection.
_SUPPORTED_AMONG = sa_select(Support.need_id).where(
    Support.user_id == bindparam("p_user"),  # type: ignore[arg-type]
    Support.need_id.in_(bindparam("p_needs", expanding=True)),  # type: ignore[attr-defined]
)


def user_supports(session: Session, need_ids: Iterable[int], user: User | None) -> set[int]:
    """Which of `need_ids` `user` supports, in one query for a whole board page."""
    ids = {i for i in need_ids if i is not None}
    if user is None or user.id is None or not ids:
        return set()
    return supported_among(session.connection(), user.id, ids)


def supported_among(connection: Connection, user_id: int, need_ids: Iterable[int]) -> set[int]:
    """Which of `need_ids` the account `user_id` supports, on a Core connection (also the
    signed-in pages answered before routing: app/board/shared_pages.py)."""
    ids = list(need_ids)
    if not ids:
        return set()
    rows = connection.execute(_SUPPORTED_AMONG, {"p_user": user_id, "p_needs": ids})
    return set(rows.scalars())


def demand_breakdown(
    session: Session | Connection, need: Any, *, by_territory: bool = False
) -> dict[str, Any]:
    """How supporters are concerned:

    {"total": n, "unspecified": n, "by_concern": {concern: n for each Concern, in order},
     "by_territory": [{"territory": name or None, "total": n, "by_concern": {...}}, …],
     "offline": people met offline (app.board.demand), not among the supporters}

    `by_territory` (staff only: see the module docstring) adds the per-territory rows, largest
    first, the row of supporters who gave no territory last; otherwise it is an empty list.
    Reads columns only, on a session or a Core connection; of `need`, only its id.
    """
    result = _demand(
        session.execute(
            union_all(
                sa_select(Support.concern, func.count())
                .where(Support.need_id == need.id)  # type: ignore[arg-type]
                .group_by(Support.concern),  # type: ignore[arg-type]
                _offline_sum(need.id),
            )
        ).all()
    )
    if by_territory:
        rows: dict[int | None, dict[str, Any]] = {}
        for territory_id, name, concern, count in session.execute(
            select(Territory.id, Territory.name, Support.concern, func.count())
            .select_from(Support)
            .outerjoin(Territory, Territory.id == Support.territory_id)  # type: ignore[arg-type]
            .where(Support.need_id == need.id)
            .group_by(Territory.id, Territory.name, Support.concern)  # type: ignore[arg-type]
        ).all():
            row = rows.setdefault(
                territory_id,
                {"territory": name, "total": 0, "by_concern": dict.fromkeys(CONCERNS, 0)},
            )
            row["total"] += count
            if concern in row["by_concern"]:
                row["by_concern"][concern] += count
        result["by_territory"] = sorted(
            rows.values(),
            key=lambda r: (r["territory"] is None, -r["total"], r["territory"] or ""),
        )
    return result


# The people met offline as a row (OFFLINE, sum) of the demand's (concern, count) rows: a
# marker no concern can be (concerns are checked against Concern by the services).
OFFLINE = "~offline"


def _offline_sum(need_id: Any) -> Any:
    return sa_select(
        literal_column(f"'{OFFLINE}'"), func.coalesce(func.sum(OfflineCollection.people), 0)
    ).where(OfflineCollection.need_id == need_id)  # type: ignore[arg-type]


def _demand(counts: Iterable[Any]) -> dict[str, Any]:
    """demand_breakdown() without `by_territory`, from the rows (concern, count) and the row
    (OFFLINE, people met offline)."""
    by_concern = dict.fromkeys(CONCERNS, 0)
    unspecified = offline = 0
    for concern, count in counts:
        if concern == OFFLINE:
            offline = int(count or 0)
        elif concern in by_concern:
            by_concern[concern] = count
        else:
            unspecified += count
    return {
        "total": unspecified + sum(by_concern.values()),
        "unspecified": unspecified,
        "by_concern": by_concern,
        "by_territory": [],
        "offline": offline,
    }


class OfferedTerritory(NamedTuple):
    id: int
    name: str
    name_en: str | None


class GivenAnswer(NamedTuple):
    """What the support block reads of a support: the person's answer to its question."""

    concern: str | None
    territory_id: int | None


# The support block's three reads in one statement (one round trip on PostgreSQL, where the
# block after a « Moi aussi » answered before routing paid one per read): rows of kind 0 are
# the demand (concern, count; the people met offline as (OFFLINE, sum)), 1 the territories
# offered (name, name_en, id, position), 2 the person's support (concern, territory id).
_TEXT, _NUMBER = cast(null(), String), cast(null(), Integer)
_BLOCK_READS = union_all(
    sa_select(
        literal_column("0").label("kind"),
        Support.concern.label("text"),  # type: ignore[attr-defined]
        _TEXT.label("text_en"),
        func.count().label("number"),
        _NUMBER.label("position"),
    )
    .where(Support.need_id == bindparam("p_need"))  # type: ignore[arg-type]
    .group_by(Support.concern),  # type: ignore[arg-type]
    sa_select(
        literal_column("0"),
        literal_column(f"'{OFFLINE}'"),
        _TEXT,
        func.coalesce(func.sum(OfflineCollection.people), 0),
        _NUMBER,
    ).where(OfflineCollection.need_id == bindparam("p_need")),  # type: ignore[arg-type]
    sa_select(
        literal_column("1"), Territory.name, Territory.name_en, Territory.id, Territory.position
    ).where(Territory.archived_at.is_(None)),  # type: ignore[union-attr]
    sa_select(literal_column("2"), Support.concern, _TEXT, Support.territory_id, _NUMBER).where(
        Support.need_id == bindparam("p_need"),  # type: ignore[arg-type]
        Support.user_id == bindparam("p_user"),  # type: ignore[arg-type]
    ),
)
_BLOCK_READS = _BLOCK_READS.order_by(
    _BLOCK_READS.selected_columns.kind,
    _BLOCK_READS.selected_columns.position,
    _BLOCK_READS.selected_columns.text,
)


def block_reads(
    connection: Connection, need_id: int, user_id: int
) -> tuple[list[OfferedTerritory], dict[str, Any], GivenAnswer | None]:
    """(offered_territories(), demand_breakdown() without `by_territory`, the person's support)
    for the support block of `need_id` shown to `user_id`, in one statement."""
    counts: list[tuple[str | None, int]] = []
    territories: list[OfferedTerritory] = []
    answer = None
    for kind, text, text_en, number, _position in connection.execute(
        _BLOCK_READS, {"p_need": need_id, "p_user": user_id}
    ):
        if kind == 0:
            counts.append((text, number))
        elif kind == 1:
            territories.append(OfferedTerritory(number, text, text_en))
        else:
            answer = GivenAnswer(text, number)
    return territories, _demand(counts), answer


def offered_territories(session: Session | Connection) -> list[Any]:
    """The territories a supporter may name: rows of (id, name, name_en), what the support
    block shows, on a session or a Core connection."""
    return list(
        session.execute(
            sa_select(Territory.id, Territory.name, Territory.name_en)
            .where(Territory.archived_at.is_(None))  # type: ignore[union-attr]
            .order_by(Territory.position, Territory.name)  # type: ignore[arg-type]
        ).all()
    )


def support_context(
    session: Session, need: Need, user: User | None, *, given_now: bool | None = None
) -> dict[str, Any]:
    """Everything `support_block` needs besides need, csrf_token and current_user: the need
    page and the htmx fragment both use it. Staff get the breakdown by territory too.

    `given_now`: what the caller's « Moi aussi » just did, when that says it all — True, a
    support given now (no concern yet), False, none any more — so it is not read again."""
    if given_now is None:
        support = get_support(session, need, user)
        supported = support is not None
    else:
        support, supported = None, given_now
    staff = user is not None and user.has_role(Role.staff)
    return {
        "supported": supported,
        "support": support,
        "territories": offered_territories(session),
        "demand": demand_breakdown(session, need, by_territory=staff),
    }
