"""The incubator route (issue 17 item 7), « Je porte déjà un projet »: a person who may take
part describes the project they carry (with their structure and how to reach them); staff turn
it into an idea of origin « carrier » — at `detected`, not public until staff say so, the
description as its summary — or decline it with a note the person reads on their page. Either
way the person is told once (a « pipeline » notification, by e-mail if they chose so); each
decision is audited; a proposal is examined once. The staff idea page shows the project an
idea came from (a panel).

Writes follow load → authorise → validate → execute; nothing is written on a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Territory
from app.board.service import ensure_can_participate
from app.core import audit, ratelimit
from app.core.db import utcnow
from app.pipeline.carriers import clean_text, length_error, one_line, territory_id_of
from app.pipeline.models import CarrierProposal, Idea, Origin, ProposalStatus
from app.pipeline.panels import PANELS
from app.pipeline.permissions import ensure_staff
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

TITLE_MIN, TITLE_MAX = 5, 140
DESCRIPTION_MIN, DESCRIPTION_MAX = 50, 5000
ORGANISATION_MAX = 160
CONTACT_MAX = 300
NOTE_MIN, NOTE_MAX = 10, 2000

# Proposals share the limit of carrier applications: both are rare, deliberate forms.
RATE_ACTION = "carrier_application"

PROPOSAL_STATUS_LABELS = {
    ProposalStatus.new.value: N_("En attente d'examen"),
    ProposalStatus.accepted.value: N_("Retenu : devenu une idée de la fabrique"),
    ProposalStatus.declined.value: N_("Non retenu"),
}

_ACCEPTED = N_(
    "La fabrique a retenu votre projet « %(title)s » : il entre dans ses idées à accompagner."
)

_DECLINED = N_(
    "La fabrique ne retient pas votre projet « %(title)s » pour l'instant ; son message vous "
    "attend sur la page « Je porte un projet »."
)


@dataclass
class ProposalInput:
    title: str = ""
    description: str = ""
    territory: str = ""  # a territory's slug
    organisation: str = ""
    contact: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> ProposalInput:
        return cls(
            **{
                name: str(form.get(name, "") or "")
                for name in ("title", "description", "territory", "organisation", "contact")
            }
        )


def submit_proposal(
    session: Session,
    user: User | None,
    data: ProposalInput,
    *,
    ip: str = "",
    rate_limits: bool = True,
) -> CarrierProposal:
    """« Je porte déjà un projet »: records the proposal for the team. Raises Forbidden,
    Invalid (per field) or TooManyRequests; nothing is written on any of them."""
    from app.web.antiabuse import check_link_limit

    user = ensure_can_participate(user)
    errors: dict[str, str] = {}
    title = one_line(data.title)
    description = clean_text(data.description)
    organisation = one_line(data.organisation)
    contact = one_line(data.contact)
    length_error(errors, "title", title, TITLE_MIN, TITLE_MAX, _("Le nom du projet"))
    length_error(
        errors, "description", description, DESCRIPTION_MIN, DESCRIPTION_MAX,
        _("La description du projet"),
    )  # fmt: skip
    territory_id = territory_id_of(session, data.territory, errors)
    if len(organisation) > ORGANISATION_MAX:
        length_error(errors, "organisation", organisation, 0, ORGANISATION_MAX, _("La structure"))
    if not contact:
        errors["contact"] = _(
            "Indiquez comment la fabrique peut vous joindre (téléphone, e-mail…)."
        )
    elif len(contact) > CONTACT_MAX:
        errors["contact"] = _("Ce champ doit faire au plus %(max)s caractères.", max=CONTACT_MAX)
    if errors:
        raise Invalid(errors)
    check_link_limit(user.created_at, description, field="description")
    ratelimit.check_rate(session, RATE_ACTION, user_id=user.id, ip=ip, enabled=rate_limits)
    now = utcnow()
    proposal = CarrierProposal(
        user_id=user.id,  # type: ignore[arg-type]
        title=title,
        description=description,
        territory_id=territory_id,
        organisation=organisation,
        contact=contact,
        created_at=now,
        updated_at=now,
    )
    session.add(proposal)
    session.commit()
    session.refresh(proposal)
    return proposal


def my_proposals(session: Session, user: User) -> list[tuple[CarrierProposal, Idea | None]]:
    return list(
        session.exec(
            select(CarrierProposal, Idea)
            .outerjoin(Idea, Idea.id == CarrierProposal.idea_id)  # type: ignore[arg-type]
            .where(CarrierProposal.user_id == user.id)
            .order_by(CarrierProposal.id.desc())  # type: ignore[union-attr]
        ).all()
    )


@dataclass
class ProposalRow:
    proposal: CarrierProposal
    person: User
    territory: Territory | None
    idea: Idea | None


def list_proposals(session: Session, actor: User | None, status: str = "") -> list[ProposalRow]:
    """The proposals for the team: waiting ones first (oldest first), then the others."""
    ensure_staff(actor)
    query = (
        select(CarrierProposal, User, Territory, Idea)
        .join(User, User.id == CarrierProposal.user_id)  # type: ignore[arg-type]
        .outerjoin(Territory, Territory.id == CarrierProposal.territory_id)  # type: ignore[arg-type]
        .outerjoin(Idea, Idea.id == CarrierProposal.idea_id)  # type: ignore[arg-type]
    )
    if status:
        query = query.where(CarrierProposal.status == status)
    rows = [ProposalRow(*row) for row in session.exec(query).all()]
    waiting = ProposalStatus.new.value
    rows.sort(
        key=lambda r: (0, r.proposal.id) if r.proposal.status == waiting else (1, -r.proposal.id)  # type: ignore[operator]
    )
    return rows


def _waiting_proposal(session: Session, proposal_id: int) -> CarrierProposal:
    proposal = session.get(CarrierProposal, proposal_id)
    if proposal is None:
        raise NotFound(_("Ce projet proposé n'existe pas."))
    if proposal.status != ProposalStatus.new.value:
        raise Invalid({"decision": _("Ce projet a déjà été examiné.")})
    return proposal


def accept_proposal(session: Session, actor: User | None, proposal_id: int) -> Idea:
    """Turns a waiting proposal into an idea at `detected`, origin « carrier », not public,
    its description as the summary; audited, the person told."""
    from app.board.notifications import notify
    from app.pipeline.service import IdeaInput, create_idea

    actor = ensure_staff(actor)
    proposal = _waiting_proposal(session, proposal_id)
    summary = proposal.description
    if proposal.organisation:
        summary += "\n\n" + _("Porté par : %(who)s", who=proposal.organisation)
    idea = create_idea(
        session,
        actor,
        IdeaInput(
            title=proposal.title,
            summary=summary,
            territory_id=proposal.territory_id,
            origin=Origin.carrier.value,
        ),
        commit=False,
    )
    now = utcnow()
    proposal.status = ProposalStatus.accepted.value
    proposal.idea_id = idea.id
    proposal.updated_at = now
    session.add(proposal)
    audit.record(
        session,
        actor,
        "proposal.accept",
        "carrier_proposal",
        proposal.id,
        before={"status": ProposalStatus.new.value},
        after={"status": proposal.status, "idea_id": idea.id},
    )
    title = proposal.title
    notify(
        session,
        "pipeline",
        [proposal.user_id],
        need=None,
        actor=actor,
        message=lambda: _(_ACCEPTED, title=title),
    )
    session.commit()
    session.refresh(idea)
    return idea


def decline_proposal(
    session: Session, actor: User | None, proposal_id: int, note: str
) -> CarrierProposal:
    """Declines a waiting proposal with a note the person reads; audited, the person told."""
    from app.board.notifications import notify

    actor = ensure_staff(actor)
    proposal = _waiting_proposal(session, proposal_id)
    note = clean_text(note)
    errors: dict[str, str] = {}
    length_error(errors, "staff_note", note, NOTE_MIN, NOTE_MAX, _("Le message à la personne"))
    if errors:
        raise Invalid(errors)
    proposal.status = ProposalStatus.declined.value
    proposal.staff_note = note
    proposal.updated_at = utcnow()
    session.add(proposal)
    audit.record(
        session,
        actor,
        "proposal.decline",
        "carrier_proposal",
        proposal.id,
        reason=note,
        before={"status": ProposalStatus.new.value},
        after={"status": proposal.status},
    )
    title = proposal.title
    notify(
        session,
        "pipeline",
        [proposal.user_id],
        need=None,
        actor=actor,
        message=lambda: _(_DECLINED, title=title),
    )
    session.commit()
    session.refresh(proposal)
    return proposal


# --- the panel of the staff idea page ------------------------------------------------------------


def carrier_origin_panel(session: Session, idea: Idea, user: User) -> dict[str, Any]:
    """The project an idea of origin « carrier » came from, and who brought it."""
    if idea.origin != Origin.carrier.value:
        return {"carrier_proposal": None}
    row = session.exec(
        select(CarrierProposal, User)
        .join(User, User.id == CarrierProposal.user_id)  # type: ignore[arg-type]
        .where(CarrierProposal.idea_id == idea.id)
    ).first()
    proposal, person = row if row else (None, None)
    return {"carrier_proposal": proposal, "carrier_proposer": person}


PANELS.append(carrier_origin_panel)
