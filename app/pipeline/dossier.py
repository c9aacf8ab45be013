"""The demand dossier of an idea (issue 17, item 2): what an opportunity study and a funder ask
for, on one printable staff page (/moderation/ideas/{id}/dossier) and its CSV twin.

It gathers, for one idea:

- its needs (every linked one, with its status: the team sees the hidden ones too), their theme,
  territory, provenance and address;
- the distinct people behind its public needs, per concern and per territory — every territory
  named, this is the team's view (app.pipeline.queries.public_demand, app.board.demand) — and
  over time: per month, the people who supported one of its public needs for the first time,
  in all and per concern;
- the verbatim comments of its public needs (published ones): the page shows the
  COMMENTS_SHOWN latest with their total, the CSV all of them (streamed);
- what was collected offline: the needs staff recorded from a meeting, a street survey, a call
  or a partner (Need.source), with their provenance;
- partner detections: the partners linked to the idea (detected, funded, supported by), the
  needs partners relayed, and what arrived through each linked partner's `ref=` links over the
  last REFERRAL_MONTHS months (those counters are the whole site's, never one idea's: the
  attribution keeps no link between a visit and a need).

Every part is one set-based statement whatever the number of needs, people or comments, so
the page costs a bounded number of statements (tests/pipeline/test_dossier.py counts them).

The pipeline sits below app.syndication, which owns the attribution counters: they are read
here from their table by name (`partner_referrals`, its columns are part of the export
format), not through that package.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, column, func, table
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.board.demand import CONCERNS, Demand
from app.board.models import (
    NEED_STATUS_LABELS,
    PUBLIC_NEED_STATUSES,
    Comment,
    CommentStatus,
    Need,
    NeedSource,
    Support,
    Territory,
    Theme,
)
from app.board.offline_collections import CollectionRow, collections_for_needs
from app.board.provenance import source_label, source_name
from app.core.clock import LOCAL_TIMEZONE, local_today
from app.core.db import utcnow
from app.pipeline import service
from app.pipeline.models import Idea, IdeaNeed, IdeaPartner, Partner, PartnerLink
from app.pipeline.partners import LINK_LABELS, kind_label
from app.pipeline.queries import public_demand
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

COMMENTS_SHOWN = 500  # the page's latest comments; the CSV holds them all
REFERRAL_MONTHS = 12

CONCERN_LABELS = {
    "has_need": N_("J'ai ce besoin"),
    "would_use": N_("J'utiliserais ce service"),
    "could_help": N_("Je pourrais aider"),
    "org_could_support": N_("Mon organisation pourrait soutenir"),
}
LINK_ORDER = [link.value for link in PartnerLink]

# The attribution counters (app.syndication.models.PartnerReferralDay), read by name.
_referrals = table(
    "partner_referrals",
    column("partner_id", Integer),
    column("day", Date),
    column("visits", Integer),
    column("needs_posted", Integer),
    column("supports", Integer),
)


@dataclass
class DossierNeed:
    need: Need
    theme: str | None
    territory: str | None
    recorded_by: str | None  # the staff member who typed a need collected offline

    @property
    def is_public(self) -> bool:
        return self.need.status in PUBLIC_NEED_STATUSES and self.need.deleted_at is None

    @property
    def offline(self) -> bool:
        return self.need.source != NeedSource.online.value

    @property
    def status_label(self) -> str:
        label = NEED_STATUS_LABELS.get(self.need.status)
        return _(label) if label is not None else self.need.status

    @property
    def provenance(self) -> str:
        return source_label(self.need)

    @property
    def source_name(self) -> str:
        return source_name(self.need.source)

    @property
    def path(self) -> str:
        return f"/needs/{self.need.id}-{self.need.slug}"


@dataclass
class MonthPeople:
    """The people who supported one of the idea's public needs for the first time that month
    (`people`), and per concern the people who gave that answer for the first time then."""

    month: date  # its first day, in France's time
    people: int = 0
    by_concern: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONCERNS, 0))
    cumulative: int = 0
    offline: int = 0  # people met offline that month (collections), never in `people`


@dataclass
class DossierComment:
    id: int
    need_id: int
    need_title: str
    need_slug: str
    author: str | None  # None: a deleted account
    team: bool  # « Équipe de la fabrique »
    created_at: datetime
    body: str
    body_html: str

    @property
    def path(self) -> str:
        return f"/needs/{self.need_id}-{self.need_slug}#comment-{self.id}"


@dataclass
class Referrals:
    visits: int = 0
    needs_posted: int = 0
    supports: int = 0


@dataclass
class PartnerDetection:
    link: str
    partner: Partner
    referrals: Referrals

    @property
    def link_label(self) -> str:
        return _(LINK_LABELS[self.link]) if self.link in LINK_LABELS else self.link

    @property
    def kind_label(self) -> str:
        return kind_label(self.partner.kind)


@dataclass
class Dossier:
    idea: Idea
    theme: Theme | None
    territory: Territory | None
    generated_at: datetime
    needs: list[DossierNeed]
    demand: Demand
    months: list[MonthPeople]
    comments: list[DossierComment]
    comments_total: int
    partners: list[PartnerDetection]
    referrals_since: date
    # People met offline about its public needs (app.board.offline_collections), each with
    # its need, the most recent first.
    collections: list[tuple[DossierNeed, CollectionRow]] = field(default_factory=list)

    @property
    def collected_people(self) -> int:
        return sum(row.people for _need, row in self.collections)

    @property
    def generated_on(self) -> date:
        """The dossier's date, as the fabrique counts days (France)."""
        return self.generated_at.astimezone(LOCAL_TIMEZONE).date()

    @property
    def offline_needs(self) -> list[DossierNeed]:
        return [n for n in self.needs if n.offline]

    @property
    def relayed_needs(self) -> list[DossierNeed]:
        """Needs a partner relayed to the fabrique (offline, source « partenaire »)."""
        return [n for n in self.needs if n.need.source == NeedSource.partner.value]

    @property
    def public_need_ids(self) -> list[int]:
        return [n.need.id for n in self.needs if n.is_public]  # type: ignore[misc]

    @property
    def stage_label(self) -> str:
        return service.stage_label(self.idea.stage)

    @property
    def origin_label(self) -> str:
        label = service.ORIGIN_LABELS.get(self.idea.origin)
        return _(label) if label is not None else self.idea.origin


# --- reading ------------------------------------------------------------------------------------


def linked_needs(session: Session, idea_id: int) -> list[DossierNeed]:
    """Every need linked to the idea, public or not, the oldest first, with its theme's and
    territory's names and who recorded it (one statement)."""
    recorder = aliased(User)
    rows = session.exec(
        select(Need, Theme.name, Territory.name, recorder.display_name)  # type: ignore[call-overload]
        .join(IdeaNeed, IdeaNeed.need_id == Need.id)
        .outerjoin(Theme, Theme.id == Need.theme_id)
        .outerjoin(Territory, Territory.id == Need.territory_id)
        .outerjoin(recorder, recorder.id == Need.recorded_by_id)
        .where(IdeaNeed.idea_id == idea_id, col(Need.deleted_at).is_(None))
        .order_by(col(Need.created_at), col(Need.id))
    ).all()
    return [
        DossierNeed(need, theme, territory, recorded) for need, theme, territory, recorded in rows
    ]


def _month(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIMEZONE).date().replace(day=1)


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def people_by_month(
    session: Session,
    need_ids: list[int],
    until: date | None = None,
    offline: dict[date, int] | None = None,
) -> list[MonthPeople]:
    """Per month (France's time), from the first support or offline collection to the current
    month (empty months as zeros), the distinct people new to these needs, in all and per
    concern, and the running total; `offline` (month → people met offline then) fills each
    month's `offline`. One statement: each person's first support per concern."""
    offline = offline or {}
    rows = (
        session.exec(
            select(Support.user_id, Support.concern, func.min(Support.created_at))  # type: ignore[call-overload]
            .where(col(Support.need_id).in_(need_ids))
            .group_by(Support.user_id, Support.concern)
        ).all()
        if need_ids
        else []
    )
    if not rows and not offline:
        return []
    first_of_person: dict[int, datetime] = {}
    months: dict[date, MonthPeople] = {}
    for user_id, concern, first in rows:
        if user_id not in first_of_person or first < first_of_person[user_id]:
            first_of_person[user_id] = first
        if concern in CONCERNS:
            month = _month(first)
            months.setdefault(month, MonthPeople(month)).by_concern[concern] += 1
    for first in first_of_person.values():
        month = _month(first)
        months.setdefault(month, MonthPeople(month)).people += 1
    for month, people in offline.items():
        months.setdefault(month, MonthPeople(month)).offline += people
    last = max(_month(utcnow()) if until is None else until.replace(day=1), max(months))
    result, month, running = [], min(months), 0
    while month <= last:
        row = months.get(month) or MonthPeople(month)
        running += row.people
        row.cumulative = running
        result.append(row)
        month = _next_month(month)
    return result


def _comments_statement(need_ids: list[int]) -> Any:
    return (
        select(  # type: ignore[call-overload]
            Comment.id,
            Comment.need_id,
            Need.title,
            Need.slug,
            User.display_name,
            User.role,
            Comment.created_at,
            Comment.body,
            Comment.body_html,
        )
        .join(Need, Need.id == Comment.need_id)
        .outerjoin(User, User.id == Comment.author_id)
        .where(
            col(Comment.need_id).in_(need_ids),
            Comment.status == CommentStatus.published.value,
            col(Comment.deleted_at).is_(None),
        )
    )


def _comment(row: Any) -> DossierComment:
    comment_id, need_id, title, slug, name, role, created_at, body, body_html = row
    team = role in (Role.staff.value, Role.admin.value)
    return DossierComment(comment_id, need_id, title, slug, name, team, created_at, body, body_html)


def latest_comments(
    session: Session, need_ids: list[int], limit: int
) -> tuple[list[DossierComment], int]:
    """The `limit` latest published comments of these needs (latest first) and how many there
    are in all: two statements."""
    if not need_ids:
        return [], 0
    total = session.exec(
        select(func.count())
        .select_from(Comment)
        .where(
            col(Comment.need_id).in_(need_ids),
            Comment.status == CommentStatus.published.value,
            col(Comment.deleted_at).is_(None),
        )
    ).one()
    rows = session.exec(
        _comments_statement(need_ids)
        .order_by(col(Comment.created_at).desc(), col(Comment.id).desc())
        .limit(limit)
    ).all()
    return [_comment(row) for row in rows], int(total)


def all_comments(session: Session, need_ids: list[int]) -> Iterator[DossierComment]:
    """Every published comment of these needs, the oldest first, read in batches (the CSV)."""
    if not need_ids:
        return
    statement = _comments_statement(need_ids).order_by(col(Comment.created_at), col(Comment.id))
    for row in session.exec(statement.execution_options(yield_per=500)):
        yield _comment(row)


def partner_detections(session: Session, idea_id: int, since: date) -> list[PartnerDetection]:
    """The partners linked to the idea (archived ones too: the history stays true), detection
    first, with what arrived through their `ref=` links since `since`: two statements."""
    rows = session.exec(
        select(IdeaPartner.link, Partner)  # type: ignore[call-overload]
        .join(Partner, Partner.id == IdeaPartner.partner_id)
        .where(IdeaPartner.idea_id == idea_id)
    ).all()
    if not rows:
        return []
    partner_ids = sorted({partner.id for _link, partner in rows})
    figures: dict[int, Referrals] = {}
    for partner_id, visits, posted, supports in session.execute(
        select(  # type: ignore[call-overload]
            _referrals.c.partner_id,
            func.sum(_referrals.c.visits),
            func.sum(_referrals.c.needs_posted),
            func.sum(_referrals.c.supports),
        )
        .where(_referrals.c.partner_id.in_(partner_ids), _referrals.c.day >= since)
        .group_by(_referrals.c.partner_id)
    ):
        figures[int(partner_id)] = Referrals(int(visits or 0), int(posted or 0), int(supports or 0))
    found = [
        PartnerDetection(link, partner, figures.get(partner.id, Referrals()))
        for link, partner in rows
    ]
    found.sort(
        key=lambda d: (
            LINK_ORDER.index(d.link) if d.link in LINK_ORDER else len(LINK_ORDER),
            d.partner.name.lower(),
        )
    )
    return found


def offline_collections(
    session: Session, needs: list[DossierNeed]
) -> list[tuple[DossierNeed, CollectionRow]]:
    """The offline collections of the public needs among `needs`, the most recent first (one
    statement): the people the fabrique met about them, counted in the demand's `offline`."""
    public = {item.need.id: item for item in needs if item.is_public}
    found = collections_for_needs(session, list(public))  # type: ignore[arg-type]
    rows = [(public[need_id], row) for need_id, rows in found.items() for row in rows]
    rows.sort(key=lambda pair: (pair[1].collected_on, pair[1].id), reverse=True)
    return rows


def _offline_months(collections: list[tuple[DossierNeed, CollectionRow]]) -> dict[date, int]:
    months: dict[date, int] = {}
    for _need, row in collections:
        month = row.collected_on.replace(day=1)
        months[month] = months.get(month, 0) + row.people
    return months


def referrals_since(today: date | None = None) -> date:
    """The first day of the REFERRAL_MONTHS months shown (the current one included)."""
    month = (today or local_today()).replace(day=1)
    for _index in range(REFERRAL_MONTHS - 1):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def build_dossier(session: Session, idea_id: int, *, comments: bool = True) -> Dossier:
    """Everything the dossier page shows (NotFound for an unknown idea); `comments=False`
    leaves the latest comments out (the CSV reads them all, with `all_comments`)."""
    idea = service.get_idea(session, idea_id)
    theme = session.get(Theme, idea.theme_id) if idea.theme_id else None
    territory = session.get(Territory, idea.territory_id) if idea.territory_id else None
    needs = linked_needs(session, idea_id)
    public_ids = [n.need.id for n in needs if n.is_public]  # type: ignore[misc]
    demand = public_demand(session, [idea_id])[idea_id] if public_ids else Demand()
    latest, total = latest_comments(session, public_ids, COMMENTS_SHOWN) if comments else ([], 0)
    since = referrals_since()
    collections = offline_collections(session, needs)
    return Dossier(
        idea=idea,
        theme=theme,
        territory=territory,
        generated_at=utcnow(),
        needs=needs,
        demand=demand,
        months=people_by_month(session, public_ids, offline=_offline_months(collections)),
        comments=latest,
        comments_total=total,
        partners=partner_detections(session, idea_id, since),
        collections=collections,
        referrals_since=since,
    )


def concern_label(value: str) -> str:
    label = CONCERN_LABELS.get(value)
    return _(label) if label is not None else value
