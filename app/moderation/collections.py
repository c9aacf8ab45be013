"""Offline collections, written by staff (issue 17): on a need, how many people raised it
offline and how — « 12 personnes, réunion publique du 14 novembre à Mérignac ». Several per
need; staff add, correct and remove them; each write is audited on the need, in the same
transaction. The figures count in the need's demand as « recueilli hors ligne »
(app.board.demand), never as accounts or supports; reading them is app.board.offline_collections.

Who: staff and admins (`ensure_can_qualify`), as for the rest of the qualification of needs —
it is evidence for the opportunity study, which moderators do not run.

Writes follow load → authorise → validate → execute → audit → commit: a refused form has
written nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.board.models import (
    COLLECTION_METHOD_LABELS,
    COLLECTION_PEOPLE_MAX,
    CollectionMethod,
    Need,
    NeedStatus,
    OfflineCollection,
    Territory,
)
from app.board.service import active_category
from app.core import audit
from app.core.clock import local_today
from app.core.db import utcnow
from app.moderation.permissions import ensure_can_qualify
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.params import is_valid_id

PLACE_MAX = 120
NOTE_MAX = 500
# Dates before this are typing mistakes (« 1026-11-12 »), not old meetings (offline needs too).
EARLIEST_DATE = date(2000, 1, 1)
# A need collected offline starts with a collection of its people, made this way by its source
# (app.moderation.offline); staff correct the method on the collections page if need be.
METHOD_OF_SOURCE = {
    "street_survey": CollectionMethod.survey.value,
    "meeting": CollectionMethod.public_meeting.value,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# « 1 200 », « 1 200 » (narrow no-break space), « 1.200 »: how people write a number.
_GROUPING = re.compile(r"[\s\u00a0\u202f.,']")


@dataclass
class CollectionInput:
    """What staff typed in the collection form (kept as typed to re-render it)."""

    people: str = ""
    method: str = ""
    collected_on: str = ""  # AAAA-MM-JJ
    place: str = ""
    territory: str = ""  # a territory's slug
    note: str = ""


@dataclass(frozen=True)
class CleanCollection:
    people: int
    method: str
    collected_on: date
    place: str
    territory: Territory | None
    note: str

    def as_input(self) -> CollectionInput:
        """The form's values for this collection (its edit form starts from them)."""
        return CollectionInput(
            people=str(self.people),
            method=self.method,
            collected_on=self.collected_on.isoformat(),
            place=self.place,
            territory=self.territory.slug if self.territory else "",
            note=self.note,
        )

    def audited(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "method": self.method,
            "collected_on": self.collected_on,
            "place": self.place,
            "territory": self.territory.slug if self.territory else None,
            "note": self.note,
        }


def _one_line(value: str) -> str:
    return " ".join(_CONTROL.sub("", value or "").split())


def parse_people(raw: str, *, required: bool) -> int | None:
    """The number of people typed (« 12 », « 1 200 »), None when left empty and not required,
    or Invalid({"people": …})."""
    digits = _GROUPING.sub("", raw or "")
    if not digits:
        if not required:
            return None
        raise Invalid({"people": _("Indiquez combien de personnes ont fait part de ce besoin.")})
    if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= COLLECTION_PEOPLE_MAX:
        raise Invalid(
            {
                "people": _(
                    "Le nombre de personnes doit être un nombre entier entre 1 et %(max)s.",
                    max=f"{COLLECTION_PEOPLE_MAX:,}".replace(",", "\u202f"),
                )
            }
        )
    return int(digits)


def first_collection(
    need: Need, staff: User, people: int, source: str, place: str
) -> OfflineCollection:
    """The collection a need recorded offline starts with (not added, not audited: the caller
    does both in its own transaction)."""
    return OfflineCollection(
        need_id=need.id,  # type: ignore[arg-type]
        people=people,
        method=METHOD_OF_SOURCE.get(source, CollectionMethod.other.value),
        collected_on=need.source_date,  # type: ignore[arg-type]
        place=place[:PLACE_MAX],
        territory_id=need.territory_id,
        recorded_by_id=staff.id,
    )


def validate_collection(session: Session, data: CollectionInput) -> CleanCollection:
    """The collection to store, or Invalid with a French message per refused field (all at
    once)."""
    errors: dict[str, str] = {}
    people = 0
    try:
        people = parse_people(data.people, required=True) or 0
    except Invalid as exc:
        errors.update(exc.errors)
    if data.method not in COLLECTION_METHOD_LABELS:
        errors["method"] = _("Indiquez comment ces personnes ont été rencontrées.")
    collected = date.min
    raw_date = (data.collected_on or "").strip()
    if not raw_date:
        errors["collected_on"] = _("Indiquez la date de la rencontre.")
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_date):
                raise ValueError
            collected = date.fromisoformat(raw_date)
        except ValueError:
            errors["collected_on"] = _("Indiquez une date au format AAAA-MM-JJ.")
        else:
            if collected > local_today():
                errors["collected_on"] = _(
                    "La date de la rencontre ne peut pas être dans le futur."
                )
            elif collected < EARLIEST_DATE:
                errors["collected_on"] = _(
                    "Cette date semble erronée : indiquez une date à partir de %(year)s.",
                    year=EARLIEST_DATE.year,
                )
    place = _one_line(data.place)
    if len(place) > PLACE_MAX:
        errors["place"] = _("Le lieu doit faire au plus %(max)s caractères.", max=PLACE_MAX)
    territory = None
    try:
        territory = active_category(session, Territory, (data.territory or "").strip())
    except Invalid as exc:
        errors.update(exc.errors)
    note = _one_line(data.note)
    if len(note) > NOTE_MAX:
        errors["note"] = _("La note doit faire au plus %(max)s caractères.", max=NOTE_MAX)
    if errors:
        raise Invalid(errors)
    return CleanCollection(people, data.method, collected, place, territory, note)


# --- loading ------------------------------------------------------------------------------------


def collection_need(session: Session, user: User | None, need_id: int) -> Need:
    """A need staff may record collections on: any that exists, is not deleted and not merged
    (a merged need's collections belong to the need it went into)."""
    ensure_can_qualify(user)
    need = session.get(Need, need_id) if is_valid_id(need_id) else None
    if need is None or need.deleted_at is not None or need.status == NeedStatus.merged.value:
        raise NotFound(_("Ce besoin n'existe pas ou n'est plus visible."))
    return need


def stored_input(session: Session, collection: OfflineCollection) -> CollectionInput:
    """The edit form's starting values: the collection as stored."""
    return _as_stored(session, collection).as_input()


def get_collection(session: Session, need: Need, collection_id: int) -> OfflineCollection:
    collection = (
        session.get(OfflineCollection, collection_id) if is_valid_id(collection_id) else None
    )
    if collection is None or collection.need_id != need.id:
        raise NotFound(_("Ce recueil hors ligne n'existe pas ou a été retiré."))
    return collection


def _as_stored(session: Session, collection: OfflineCollection) -> CleanCollection:
    territory = session.get(Territory, collection.territory_id) if collection.territory_id else None
    return CleanCollection(
        collection.people,
        collection.method,
        collection.collected_on,
        collection.place,
        territory,
        collection.note,
    )


# --- writing ------------------------------------------------------------------------------------


def add_collection(
    session: Session, user: User | None, need: Need, data: CollectionInput
) -> OfflineCollection:
    """Records a collection on the need, audited. Commits."""
    staff = ensure_can_qualify(user)
    clean = validate_collection(session, data)
    collection = OfflineCollection(
        need_id=need.id,  # type: ignore[arg-type]
        people=clean.people,
        method=clean.method,
        collected_on=clean.collected_on,
        place=clean.place,
        territory_id=clean.territory.id if clean.territory else None,
        note=clean.note,
        recorded_by_id=staff.id,
    )
    session.add(collection)
    session.flush()
    audit.record(
        session,
        staff,
        "need.offline_collection_add",
        "need",
        need.id,
        after={"collection": collection.id, **clean.audited()},
    )
    session.commit()
    return collection


def update_collection(
    session: Session, user: User | None, collection: OfflineCollection, data: CollectionInput
) -> bool:
    """Corrects a collection, audited (before → after). Commits. False if nothing changed."""
    staff = ensure_can_qualify(user)
    clean = validate_collection(session, data)
    before = _as_stored(session, collection).audited()
    after = clean.audited()
    if before == after:
        return False
    collection.people = clean.people
    collection.method = clean.method
    collection.collected_on = clean.collected_on
    collection.place = clean.place
    collection.territory_id = clean.territory.id if clean.territory else None
    collection.note = clean.note
    collection.updated_at = utcnow()
    session.add(collection)
    audit.record(
        session,
        staff,
        "need.offline_collection_edit",
        "need",
        collection.need_id,
        before={"collection": collection.id, **before},
        after={"collection": collection.id, **after},
    )
    session.commit()
    return True


def remove_collection(session: Session, user: User | None, collection: OfflineCollection) -> None:
    """Removes a collection (a mistake, a duplicate), audited with what it said. Commits."""
    staff = ensure_can_qualify(user)
    audit.record(
        session,
        staff,
        "need.offline_collection_remove",
        "need",
        collection.need_id,
        before={"collection": collection.id, **_as_stored(session, collection).audited()},
    )
    session.delete(collection)
    session.commit()
