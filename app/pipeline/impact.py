"""The impact figures (issue 5 item 7): the pipeline's funnel and the board's activity, for
the public /impact page and GET /api/v1/stats (one computation, two renderers).

Definitions (each counts ideas once):
- detected: every idea (filters: the year of the idea's creation, its territory);
- studied: ideas that reached `studying` or beyond at some point — read from the stage
  history, so an idea abandoned after its study still counts as studied;
- carrier found: ideas that reached `launching` or beyond, or that have a carrier recorded;
- launched: ideas at `launched` now (= enterprises created); jobs: the sum of their jobs;
- abandoned: ideas at `abandoned` now;
- board share: ideas of origin « resident » (made from needs of the board), as a rounded
  percentage of all ideas;
- needs, supports, comments: public needs (published or covered, not deleted) and their
  stored support and comment counts (filters: the year of the need's creation, its territory);
- offline people: the people staff met offline about public needs (app.board.models.
  OfflineCollection), never counted as supports (filters: the year the collection was made, its
  territory or else its need's).

Two queries whatever the data: one aggregate over ideas (with EXISTS on the stage history),
one over needs (with the offline people as a scalar subquery).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, case, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from app.board.models import PUBLIC_NEED_STATUSES, Need, OfflineCollection, Territory
from app.pipeline.models import Idea, Origin, Stage, StageChange
from app.web.errors import Invalid
from app.web.i18n import gettext as _

STUDIED_STAGES = (
    Stage.studying.value,
    Stage.seeking_carrier.value,
    Stage.launching.value,
    Stage.launched.value,
)
CARRIER_STAGES = (Stage.launching.value, Stage.launched.value)

# The years a filter may ask for (anything else is a bad request, not an empty page).
YEAR_MIN, YEAR_MAX = 2000, 2100


@dataclass(frozen=True)
class ImpactFigures:
    detected: int
    studied: int
    carrier_found: int
    launched: int
    abandoned: int
    enterprises: int
    jobs: int
    from_board: int
    board_share_percent: int  # from_board / detected, rounded; 0 when there is no idea
    needs: int
    supports: int
    comments: int
    offline_people: int = 0
    year: int | None = None
    territory: Territory | None = None

    @property
    def board_share(self) -> float:
        """The share as a fraction (0.15 for 15 %), matching the rounded percentage shown."""
        return self.board_share_percent / 100

    @property
    def funnel(self) -> list[tuple[str, int]]:
        return [
            ("detected", self.detected),
            ("studied", self.studied),
            ("carrier_found", self.carrier_found),
            ("launched", self.launched),
            ("abandoned", self.abandoned),
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "ideas": dict(self.funnel),
            "enterprises": self.enterprises,
            "jobs": self.jobs,
            "ideas_from_board": self.from_board,
            "board_share": self.board_share,
            "needs": self.needs,
            "supports": self.supports,
            "comments": self.comments,
            "filters": {
                "year": self.year,
                "territory": (
                    {"slug": self.territory.slug, "name": self.territory.name}
                    if self.territory is not None
                    else None
                ),
            },
        }


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _reached(stages: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """The idea is at one of `stages`, or its history shows it got there once."""
    history = exists().where(StageChange.idea_id == Idea.id, StageChange.to_stage.in_(stages))  # type: ignore[attr-defined]
    return or_(Idea.stage.in_(stages), history)  # type: ignore[attr-defined]


def _count_if(condition) -> object:  # type: ignore[no-untyped-def]
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def impact_figures(
    session: Session, *, year: int | None = None, territory_id: int | None = None
) -> ImpactFigures:
    idea_where = []
    need_where = [
        Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
    ]
    if year is not None:
        start, end = _year_bounds(year)
        idea_where += [Idea.created_at >= start, Idea.created_at < end]  # type: ignore[operator]
        need_where += [Need.created_at >= start, Need.created_at < end]  # type: ignore[operator]
    if territory_id is not None:
        idea_where.append(Idea.territory_id == territory_id)
        need_where.append(Need.territory_id == territory_id)

    launched = Idea.stage == Stage.launched.value
    has_carrier = and_(Idea.carrier_name.is_not(None), Idea.carrier_name != "")  # type: ignore[union-attr]
    row = session.exec(
        select(  # type: ignore[call-overload]
            func.count(Idea.id),
            _count_if(_reached(STUDIED_STAGES)),
            _count_if(or_(_reached(CARRIER_STAGES), has_carrier)),
            _count_if(launched),
            _count_if(Idea.stage == Stage.abandoned.value),
            func.coalesce(
                func.sum(case((launched, func.coalesce(Idea.jobs_created, 0)), else_=0)), 0
            ),
            _count_if(Idea.origin == Origin.resident.value),
        ).where(*idea_where)
    ).one()
    detected, studied, carrier_found, launched_count, abandoned, jobs, from_board = (
        int(value or 0) for value in row
    )
    needs, supports, comments, offline = session.exec(
        select(  # type: ignore[call-overload]
            func.count(Need.id),
            func.coalesce(func.sum(Need.supports_count), 0),
            func.coalesce(func.sum(Need.comments_count), 0),
            _offline_people(year, territory_id),
        ).where(*need_where)
    ).one()
    territory = session.get(Territory, territory_id) if territory_id is not None else None
    return ImpactFigures(
        detected=detected,
        studied=studied,
        carrier_found=carrier_found,
        launched=launched_count,
        abandoned=abandoned,
        enterprises=launched_count,
        jobs=jobs,
        from_board=from_board,
        board_share_percent=_percent(from_board, detected),
        needs=int(needs or 0),
        supports=int(supports or 0),
        comments=int(comments or 0),
        offline_people=int(offline or 0),
        year=year,
        territory=territory,
    )


def _offline_people(year: int | None, territory_id: int | None):  # type: ignore[no-untyped-def]
    """The people met offline about public needs, as a scalar subquery (over its own alias of
    needs: it must not correlate with the outer query's)."""
    need = aliased(Need)
    where = [
        need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        need.deleted_at.is_(None),  # type: ignore[union-attr]
    ]
    if year is not None:
        where += [
            OfflineCollection.collected_on >= date(year, 1, 1),  # type: ignore[operator]
            OfflineCollection.collected_on < date(year + 1, 1, 1),  # type: ignore[operator]
        ]
    if territory_id is not None:
        where.append(
            func.coalesce(OfflineCollection.territory_id, need.territory_id) == territory_id
        )
    return (
        select(func.coalesce(func.sum(OfflineCollection.people), 0))
        .join(need, need.id == OfflineCollection.need_id)  # type: ignore[arg-type]
        .where(*where)
        .scalar_subquery()
    )


def _percent(part: int, whole: int) -> int:
    """A rounded percentage, halves up (Python's round() would make 12.5 % into 12 %)."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def parse_filters(
    session: Session, params: Mapping[str, str]
) -> tuple[int | None, Territory | None, dict[str, str]]:
    """`year` and `territory` (a slug) from a query string, with a French message per bad
    value (the page answers 400 with them, the API a problem+json 400)."""
    from app.board.service import active_category

    errors: dict[str, str] = {}
    year = None
    raw_year = (params.get("year") or "").strip()
    if raw_year:
        if raw_year.isascii() and raw_year.isdigit() and YEAR_MIN <= int(raw_year) <= YEAR_MAX:
            year = int(raw_year)
        else:
            errors["year"] = _(
                "L'année doit être un nombre entre %(min)s et %(max)s.", min=YEAR_MIN, max=YEAR_MAX
            )
    territory = None
    try:
        territory = active_category(session, Territory, (params.get("territory") or "").strip())
    except Invalid as exc:
        errors.update(exc.errors)
    return year, territory, errors


def available_years(session: Session) -> list[int]:
    """The years that have an idea or a public need, newest first (for the filter)."""
    firsts = session.exec(
        select(func.min(Idea.created_at), func.max(Idea.created_at))  # type: ignore[call-overload]
    ).one()
    need_firsts = session.exec(
        select(func.min(Need.created_at), func.max(Need.created_at))  # type: ignore[call-overload]
    ).one()
    dates = [d for d in (*firsts, *need_firsts) if d is not None]
    if not dates:
        return [datetime.now(UTC).year]
    first = min(d.year for d in dates)
    last = max(max(d.year for d in dates), datetime.now(UTC).year)
    return list(range(last, first - 1, -1))
