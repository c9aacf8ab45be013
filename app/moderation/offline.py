"""Needs collected offline: staff enter a need heard at a street survey, a meeting, on the phone
or relayed by a partner. It is published at once under the fabrique's name (author_id None,
recorded_by_id the staff member who typed it), with its provenance, and counted per source.

Staff may say how many people raised it: the need then starts with an offline collection of
that many people (app.moderation.collections), counted in its demand, never as supports.

`source_label(need)` words the provenance for templates (« Micro-trottoir — Marché de
Capeyron, 12 novembre 2026 »); `needs_by_source(session)` counts public needs per source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.events import NeedPublished
from app.board.models import PUBLIC_NEED_STATUSES, Need, NeedSource, NeedStatus

# Re-exported: the moderation area's templates and tests word sources through this module.
from app.board.provenance import (  # noqa: F401
    OFFLINE_SOURCES,
    SOURCE_LABELS,
    source_label,
    source_name,
)
from app.board.service import NeedInput, insert_need, need_by_key, validate_need
from app.core import audit, events
from app.core.clock import local_today
from app.moderation.collections import EARLIEST_DATE, first_collection, parse_people
from app.moderation.permissions import ensure_can_qualify
from app.web.errors import Invalid
from app.web.i18n import gettext as _

EVENT_MAX = 120
PARTNER_MAX = 120

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def needs_by_source(session: Session) -> dict[str, int]:
    """Public, non-deleted needs per source, every source listed (0 when none), in NeedSource
    order."""
    rows = session.exec(
        select(Need.source, func.count())
        .where(
            Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
            Need.deleted_at.is_(None),  # type: ignore[union-attr]
        )
        .group_by(Need.source)
    )
    counts = {s.value: 0 for s in NeedSource}
    for source, count in rows:
        counts[source if source in counts else NeedSource.other.value] += count
    return counts


@dataclass
class OfflineNeedInput:
    """What staff typed in the offline need form (kept as typed to re-render it)."""

    title: str = ""
    body: str = ""
    theme: str = ""
    territory: str = ""
    source: str = ""
    source_event: str = ""
    source_date: str = ""  # AAAA-MM-JJ
    source_partner: str = ""
    people: str = ""  # optional: how many people raised it (its first offline collection)

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> OfflineNeedInput:
        names = (
            "title",
            "body",
            "theme",
            "territory",
            "source",
            "source_event",
            "source_date",
            "source_partner",
            "people",
        )
        return cls(**{name: str(form.get(name, "") or "") for name in names})


def _short_text(value: str) -> str:
    return " ".join(_CONTROL.sub("", value or "").split())


def validate_offline(
    session: Session, data: OfflineNeedInput
) -> tuple[tuple[str, str, Any, Any], str, str, date, str, int | None]:
    """Validates the need (same rules as the board's form), its provenance and the number of
    people met (optional), all errors at once."""
    errors: dict[str, str] = {}
    need_fields: tuple[str, str, Any, Any] = ("", "", None, None)
    try:
        need_fields = validate_need(
            session,
            NeedInput(title=data.title, body=data.body, theme=data.theme, territory=data.territory),
        )
    except Invalid as exc:
        errors.update(exc.errors)
    if data.source not in OFFLINE_SOURCES:
        errors["source"] = _("Indiquez comment ce besoin a été recueilli.")
    event = _short_text(data.source_event)
    if len(event) > EVENT_MAX:
        errors["source_event"] = _(
            "Le nom de l'événement doit faire au plus %(max)s caractères.", max=EVENT_MAX
        )
    partner = _short_text(data.source_partner)
    if len(partner) > PARTNER_MAX:
        errors["source_partner"] = _(
            "Le nom du partenaire doit faire au plus %(max)s caractères.", max=PARTNER_MAX
        )
    elif data.source == NeedSource.partner.value and not partner:
        errors["source_partner"] = _("Indiquez le partenaire qui a relayé ce besoin.")
    collected = date.min
    raw_date = data.source_date.strip()
    if not raw_date:
        errors["source_date"] = _("Indiquez la date à laquelle ce besoin a été recueilli.")
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_date):
                raise ValueError
            collected = date.fromisoformat(raw_date)
        except ValueError:
            errors["source_date"] = _("Indiquez une date au format AAAA-MM-JJ.")
        else:
            if collected > local_today():
                errors["source_date"] = _("La date de recueil ne peut pas être dans le futur.")
            elif collected < EARLIEST_DATE:
                errors["source_date"] = _(
                    "Cette date semble erronée : indiquez une date à partir de %(year)s.",
                    year=EARLIEST_DATE.year,
                )
    people = None
    try:
        people = parse_people(data.people, required=False)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return need_fields, data.source, event, collected, partner, people


def create_offline_need(
    session: Session,
    user: User | None,
    data: OfflineNeedInput,
    *,
    submission_key: str | None = None,
) -> Need:
    """Publishes a need collected offline. No support is added for the staff member (they are
    not the one in need) and nobody follows it. The same form (submission key) never creates
    two needs."""
    staff = ensure_can_qualify(user)
    if submission_key:
        existing = need_by_key(session, submission_key, recorded_by_id=staff.id)
        if existing is not None:
            return existing
    (title, body, theme, territory), source, event, collected, partner, people = validate_offline(
        session, data
    )
    need, created = insert_need(
        session,
        title,
        body,
        theme,
        territory,
        status=NeedStatus.published.value,
        submission_key=submission_key,
        author_id=None,
        recorded_by_id=staff.id,
        source=source,
        source_event=event or None,
        source_date=collected,
        source_partner=partner or None,
    )
    if not created:
        return need
    audit.record(
        session,
        staff,
        "need.create_offline",
        "need",
        need.id,
        after={
            "title": title,
            "status": need.status,
            "theme": theme.slug if theme else None,
            "territory": territory.slug if territory else None,
            "source": source,
            "source_event": event or None,
            "source_date": collected,
            "source_partner": partner or None,
            "people": people,
        },
    )
    if people:  # its first offline collection, counted in its demand (app.moderation.collections)
        session.add(first_collection(need, staff, people, source, event))
    events.announce(session, NeedPublished(need))
    session.commit()
    session.refresh(need)
    return need
