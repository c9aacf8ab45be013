"""Carriers and entrepreneurs (issue 17 item 7): the register of would-be carriers, the
fabrique's invitations to carry an idea, and the incubator route.

- **The register** (« volontaires mais à court d'idées »): a signed-in person who may take part
  registers once (skills, checked domains, territory, availability, a short presentation), edits
  it, or withdraws — the row is deleted. Staff alone read it; nothing of it is public.
- **Invitations**: staff « Proposer cette idée » to a registered person, for a public idea
  during its call for carriers; one per person and idea (a unique constraint). The person is
  told (a « pipeline » notification, by e-mail if they chose so) and answers by applying
  through the existing form (app.pipeline.applications), which stays the only way to carry.
- **The incubator route** (« Je porte déjà un projet »): app.pipeline.incubator.

Writes follow load → authorise → validate → execute; nothing is written on a refusal. Staff
actions are audited in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Territory
from app.board.service import ensure_can_participate
from app.core import audit
from app.core.db import utcnow
from app.pipeline.models import (
    CarrierApplication,
    CarrierAvailability,
    CarrierInvitation,
    CarrierProfile,
    Idea,
    Stage,
)
from app.pipeline.permissions import ensure_staff
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

SKILLS_MAX = 2000
PRESENTATION_MIN, PRESENTATION_MAX = 20, 2000
MESSAGE_MAX = 1000

# The checkable skill domains (stored as their keys, comma-separated).
DOMAINS = {
    "management": N_("Gestion, finances, administration"),
    "sales": N_("Commercial, communication"),
    "team": N_("Encadrement d'équipe"),
    "social": N_("Accompagnement social, insertion"),
    "trade": N_("Métier technique ou artisanal"),
    "community": N_("Animation, vie associative"),
}

AVAILABILITY_LABELS = {
    CarrierAvailability.few_hours.value: N_("Quelques heures par mois"),
    CarrierAvailability.part_time.value: N_("Mi-temps"),
    CarrierAvailability.full_time.value: N_("Temps plein"),
    CarrierAvailability.to_define.value: N_("À définir"),
}

_INVITED = N_(
    "La fabrique vous propose de porter l'idée « %(idea)s » : lisez son appel à porteurs et "
    "candidatez si elle vous parle (page « Mon profil de porteur »)."
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text or "").strip()


def one_line(text: str) -> str:
    return " ".join(clean_text(text).split())


def label(labels: Mapping[str, Any], key: str) -> str:
    return _(labels[key]) if key in labels else key


def active_territories(session: Session) -> list[Territory]:
    return list(
        session.exec(
            select(Territory)
            .where(Territory.archived_at.is_(None))  # type: ignore[union-attr]
            .order_by(Territory.position, Territory.name)  # type: ignore[arg-type]
        )
    )


def territory_id_of(session: Session, slug: str, errors: dict[str, str]) -> int | None:
    if not slug:
        return None
    for territory in active_territories(session):
        if territory.slug == slug:
            return territory.id
    errors["territory"] = _("Choisissez un territoire dans la liste.")
    return None


def length_error(
    errors: dict[str, str], name: str, text: str, low: int, high: int, what: str
) -> None:
    if len(text) < low:
        errors[name] = _("%(what)s : au moins %(min)s caractères.", what=what, min=low)
    elif len(text) > high:
        errors[name] = _(
            "%(what)s : au plus %(max)s caractères (il y en a %(length)s).",
            what=what,
            max=high,
            length=len(text),
        )


# --- the register: the person's own profile ----------------------------------------------------


@dataclass
class ProfileInput:
    """What the person typed (kept as typed, to show the form again with errors)."""

    skills: str = ""
    domains: list[str] = field(default_factory=list)
    territory: str = ""  # a territory's slug
    availability: str = ""
    presentation: str = ""

    @classmethod
    def from_form(cls, form: Any) -> ProfileInput:
        return cls(
            skills=str(form.get("skills", "") or ""),
            domains=[str(d) for d in form.getlist("domains")],
            territory=str(form.get("territory", "") or ""),
            availability=str(form.get("availability", "") or ""),
            presentation=str(form.get("presentation", "") or ""),
        )

    @classmethod
    def of(cls, session: Session, profile: CarrierProfile | None) -> ProfileInput:
        if profile is None:
            return cls()
        territory = session.get(Territory, profile.territory_id) if profile.territory_id else None
        return cls(
            skills=profile.skills,
            domains=[d for d in profile.domains.split(",") if d],
            territory=territory.slug if territory else "",
            availability=profile.availability,
            presentation=profile.presentation,
        )


def profile_of(session: Session, user: User | None) -> CarrierProfile | None:
    if user is None:
        return None
    return session.exec(select(CarrierProfile).where(CarrierProfile.user_id == user.id)).first()


def save_profile(session: Session, user: User | None, data: ProfileInput) -> CarrierProfile:
    """Registers the person, or updates their profile. Raises Forbidden (not signed in,
    blocked, e-mail unconfirmed) or Invalid (per field); nothing is written on either."""
    user = ensure_can_participate(user)
    errors: dict[str, str] = {}
    skills = clean_text(data.skills)
    presentation = clean_text(data.presentation)
    domains = list(dict.fromkeys(data.domains))
    if any(d not in DOMAINS for d in domains):
        errors["domains"] = _("Cochez des domaines de la liste.")
    elif not skills and not domains:
        errors["skills"] = _("Décrivez vos compétences ou cochez au moins un domaine.")
    if len(skills) > SKILLS_MAX:
        length_error(errors, "skills", skills, 0, SKILLS_MAX, _("Vos compétences"))
    territory_id = territory_id_of(session, data.territory, errors)
    if data.availability not in AVAILABILITY_LABELS:
        errors["availability"] = _("Choisissez votre disponibilité dans la liste.")
    length_error(
        errors, "presentation", presentation, PRESENTATION_MIN, PRESENTATION_MAX,
        _("Votre présentation"),
    )  # fmt: skip
    if errors:
        raise Invalid(errors)
    profile = profile_of(session, user)
    now = utcnow()
    if profile is None:
        profile = CarrierProfile(user_id=user.id, created_at=now)  # type: ignore[arg-type]
    profile.skills = skills
    profile.domains = ",".join(domains)
    profile.territory_id = territory_id
    profile.availability = data.availability
    profile.presentation = presentation
    profile.updated_at = now
    session.add(profile)
    try:
        session.commit()
    except IntegrityError:
        # The same person registered twice at once: the other request wrote the profile.
        session.rollback()
        return save_profile(session, user, data)
    session.refresh(profile)
    return profile


def withdraw_profile(session: Session, user: User | None) -> bool:
    """Leaves the register: the profile is deleted (False: there was none)."""
    user = ensure_can_participate(user)
    profile = profile_of(session, user)
    if profile is None:
        return False
    session.delete(profile)
    session.commit()
    return True


@dataclass
class InvitationRow:
    invitation: CarrierInvitation
    idea: Idea
    applied: bool


def my_invitations(session: Session, user: User) -> list[InvitationRow]:
    """The ideas the fabrique proposed to this person, newest first, with whether they applied
    (the idea's link is shown only while it is public)."""
    rows = session.exec(
        select(CarrierInvitation, Idea, CarrierApplication.id)
        .join(Idea, Idea.id == CarrierInvitation.idea_id)  # type: ignore[arg-type]
        .outerjoin(
            CarrierApplication,
            (CarrierApplication.idea_id == CarrierInvitation.idea_id)  # type: ignore[arg-type]
            & (CarrierApplication.user_id == CarrierInvitation.user_id),
        )
        .where(CarrierInvitation.user_id == user.id)
        .order_by(CarrierInvitation.id.desc())  # type: ignore[union-attr]
    ).all()
    return [InvitationRow(inv, idea, applied is not None) for inv, idea, applied in rows]


# --- the register, staff side ------------------------------------------------------------------


@dataclass
class ProfileRow:
    profile: CarrierProfile
    person: User
    territory: Territory | None
    invited_ideas: list[Idea]

    @property
    def domain_labels(self) -> list[str]:
        return [label(DOMAINS, d) for d in self.profile.domains.split(",") if d]


def list_profiles(
    session: Session,
    actor: User | None,
    *,
    territory_id: int | None = None,
    availability: str | None = None,
) -> list[ProfileRow]:
    """The register, most recently updated first, filtered; two statements."""
    ensure_staff(actor)
    query = (
        select(CarrierProfile, User, Territory)
        .join(User, User.id == CarrierProfile.user_id)  # type: ignore[arg-type]
        .outerjoin(Territory, Territory.id == CarrierProfile.territory_id)  # type: ignore[arg-type]
        .order_by(CarrierProfile.updated_at.desc(), CarrierProfile.id.desc())  # type: ignore[attr-defined]
    )
    if territory_id is not None:
        query = query.where(CarrierProfile.territory_id == territory_id)
    if availability:
        query = query.where(CarrierProfile.availability == availability)
    found = session.exec(query).all()
    invited: dict[int, list[Idea]] = {}
    user_ids = [person.id for _p, person, _t in found]
    if user_ids:
        for invitation, idea in session.exec(
            select(CarrierInvitation, Idea)
            .join(Idea, Idea.id == CarrierInvitation.idea_id)  # type: ignore[arg-type]
            .where(CarrierInvitation.user_id.in_(user_ids))  # type: ignore[attr-defined]
            .order_by(CarrierInvitation.id)  # type: ignore[arg-type]
        ).all():
            invited.setdefault(invitation.user_id, []).append(idea)
    return [
        ProfileRow(profile, person, territory, invited.get(person.id, []))  # type: ignore[arg-type]
        for profile, person, territory in found
    ]


def ideas_seeking_a_carrier(session: Session) -> list[Idea]:
    """The ideas a person can be invited to: public, during their call for carriers."""
    return list(
        session.exec(
            select(Idea)
            .where(Idea.stage == Stage.seeking_carrier.value, Idea.is_public.is_(True))  # type: ignore[attr-defined]
            .order_by(Idea.title)  # type: ignore[arg-type]
        )
    )


def invite(
    session: Session, actor: User | None, profile_id: int, idea_id: int | None, message: str
) -> CarrierInvitation:
    """« Proposer cette idée »: records the invitation, audits it and tells the person.
    Raises NotFound (no such profile) or Invalid on `idea` / `message`."""
    from app.board.notifications import notify

    actor = ensure_staff(actor)
    profile = session.get(CarrierProfile, profile_id)
    if profile is None:
        raise NotFound(_("Cette personne n'est plus inscrite au registre des porteurs."))
    idea = session.get(Idea, idea_id) if idea_id else None
    errors: dict[str, str] = {}
    message = clean_text(message)
    if idea is None or not idea.is_public or idea.stage != Stage.seeking_carrier.value:
        errors["idea"] = _("Choisissez une idée publique qui cherche un porteur.")
    elif session.exec(
        select(CarrierInvitation.id).where(
            CarrierInvitation.idea_id == idea.id, CarrierInvitation.user_id == profile.user_id
        )
    ).first():
        errors["idea"] = _("Cette idée a déjà été proposée à cette personne.")
    elif session.exec(
        select(CarrierApplication.id).where(
            CarrierApplication.idea_id == idea.id, CarrierApplication.user_id == profile.user_id
        )
    ).first():
        errors["idea"] = _("Cette personne a déjà candidaté pour porter cette idée.")
    if len(message) > MESSAGE_MAX:
        length_error(errors, "message", message, 0, MESSAGE_MAX, _("Le message"))
    if errors:
        raise Invalid(errors)
    assert idea is not None
    invitation = CarrierInvitation(
        idea_id=idea.id,  # type: ignore[arg-type]
        user_id=profile.user_id,
        message=message,
        invited_by_id=actor.id,
        created_at=utcnow(),
    )
    session.add(invitation)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid({"idea": _("Cette idée a déjà été proposée à cette personne.")}) from None
    audit.record(
        session,
        actor,
        "carrier.invite",
        "carrier_invitation",
        invitation.id,
        after={"idea_id": idea.id, "user_id": profile.user_id, "message": message},
    )
    title = idea.title
    notify(
        session,
        "pipeline",
        [profile.user_id],
        need=None,
        actor=actor,
        message=lambda: _(_INVITED, idea=title),
    )
    session.commit()
    session.refresh(invitation)
    return invitation
