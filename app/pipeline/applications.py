"""Carrier applications (« Je veux porter ce projet », issue 5 item 5): residents apply to carry
a public idea during its call for carriers; staff review them and select the carrier.

Rules:
- an application is accepted only while the idea is public AND at `seeking_carrier`, from a
  signed-in account that is not blocked; one per person and idea (a unique constraint, so two
  submissions at once cannot both pass);
- staff move an application between new / shortlisted / met / selected / declined, with
  private notes; every change is audited and the applicant is told of each status change (a
  « pipeline » notification not tied to a need; the notes are never sent);
- selecting records the carrier on the idea (the organisation, or else the applicant's display
  name, and the application's id). Only one application per idea may be selected: selecting a
  second one is REFUSED while another is selected (staff first change the first one's status).
  Nobody is declined behind the staff's back, and the UPDATE of the idea is conditional
  (carrier_application_id still empty), so two staff selecting at once cannot both win;
- the carrier is chosen, or un-chosen, only while the idea is at `seeking_carrier`: later
  stages rely on it (entering `launching` requires a carrier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.board import team_alerts
from app.board.service import ensure_can_participate
from app.core import audit, ratelimit
from app.core.db import utcnow
from app.pipeline.models import ApplicationStatus, CarrierApplication, Idea, Stage
from app.pipeline.panels import PANELS
from app.pipeline.permissions import ensure_staff
from app.pipeline.service import get_idea
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

MOTIVATION_MIN, MOTIVATION_MAX = 30, 5000
EXPERIENCE_MAX = 5000
ORGANISATION_MAX = 160
CONTACT_MAX = 300
NOTES_MAX = 5000

RATE_ACTION = "carrier_application"  # limits in app.core.ratelimit.LIMITS

STATUS_LABELS = {
    ApplicationStatus.new.value: N_("Reçue"),
    ApplicationStatus.shortlisted.value: N_("Présélectionnée"),
    ApplicationStatus.met.value: N_("Rencontre effectuée"),
    ApplicationStatus.selected.value: N_("Retenue"),
    ApplicationStatus.declined.value: N_("Non retenue"),
}

# What the applicant is told (in French: the notification row stores its sentence).
_STATUS_MESSAGES = {
    ApplicationStatus.new.value: N_(
        "Votre candidature pour porter « %(idea)s » est de nouveau en attente d'examen."
    ),
    ApplicationStatus.shortlisted.value: N_(
        "Votre candidature pour porter « %(idea)s » est présélectionnée : "
        "la fabrique va vous contacter."
    ),
    ApplicationStatus.met.value: N_(
        "Votre rencontre avec la fabrique au sujet de « %(idea)s » est notée : la décision suivra."
    ),
    ApplicationStatus.selected.value: N_(
        "Bonne nouvelle : votre candidature est retenue, vous êtes le porteur de « %(idea)s »."
    ),
    ApplicationStatus.declined.value: N_(
        "Votre candidature pour porter « %(idea)s » n'a pas été retenue. Merci pour votre "
        "proposition."
    ),
}

# Control characters other than tab and newlines: invisible, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


# --- applying --------------------------------------------------------------------------------


@dataclass
class ApplicationInput:
    """What the person typed (kept as typed, to re-render the form with errors)."""

    motivation: str = ""
    experience: str = ""
    organisation: str = ""
    contact: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> ApplicationInput:
        return cls(
            **{
                name: str(form.get(name, "") or "")
                for name in ("motivation", "experience", "organisation", "contact")
            }
        )


def _clean(text: str) -> str:
    return _CONTROL.sub("", text or "").strip()


def validate_application(data: ApplicationInput) -> ApplicationInput:
    errors: dict[str, str] = {}
    motivation = _clean(data.motivation)
    experience = _clean(data.experience)
    organisation = " ".join(_clean(data.organisation).split())
    contact = " ".join(_clean(data.contact).split())
    if len(motivation) < MOTIVATION_MIN:
        errors["motivation"] = _(
            "Expliquez votre motivation en au moins %(min)s caractères.", min=MOTIVATION_MIN
        )
    elif len(motivation) > MOTIVATION_MAX:
        errors["motivation"] = _(
            "La motivation doit faire au plus %(max)s caractères (elle en fait %(length)s).",
            max=MOTIVATION_MAX,
            length=len(motivation),
        )
    if len(experience) > EXPERIENCE_MAX:
        errors["experience"] = _(
            "L'expérience doit faire au plus %(max)s caractères (elle en fait %(length)s).",
            max=EXPERIENCE_MAX,
            length=len(experience),
        )
    if len(organisation) > ORGANISATION_MAX:
        errors["organisation"] = _(
            "Le nom de la structure doit faire au plus %(max)s caractères.", max=ORGANISATION_MAX
        )
    if not contact:
        errors["contact"] = _(
            "Indiquez comment la fabrique peut vous joindre (téléphone, e-mail…)."
        )
    elif len(contact) > CONTACT_MAX:
        errors["contact"] = _("Ce champ doit faire au plus %(max)s caractères.", max=CONTACT_MAX)
    if errors:
        raise Invalid(errors)
    return ApplicationInput(motivation, experience, organisation, contact)


def open_call_error(idea: Idea) -> str | None:
    """Why nobody can apply to this idea now (None: the call is open)."""
    if idea.stage != Stage.seeking_carrier.value:
        return _(
            "Cette idée ne cherche pas de porteur en ce moment : les candidatures ne sont "
            "ouvertes que pendant l'appel à porteurs."
        )
    return None


def get_public_idea(session: Session, idea_id: int) -> Idea:
    """An idea the public may see, or NotFound (a private idea does not exist for them)."""
    idea = session.get(Idea, idea_id)
    if idea is None or not idea.is_public:
        raise NotFound(_("Cette idée n'existe pas ou n'est pas publique."))
    return idea


def application_of(session: Session, idea: Idea, user: User | None) -> CarrierApplication | None:
    if user is None:
        return None
    return session.exec(
        select(CarrierApplication).where(
            CarrierApplication.idea_id == idea.id, CarrierApplication.user_id == user.id
        )
    ).first()


class AlreadyApplied(Conflict):
    def __init__(self, application: CarrierApplication):
        super().__init__(_("Vous avez déjà proposé votre candidature pour porter ce projet."))
        self.application = application


def apply(
    session: Session,
    user: User | None,
    idea_id: int,
    data: ApplicationInput,
    *,
    ip: str = "",
    rate_limits: bool = True,
) -> CarrierApplication:
    """Records an application (load → authorise → validate → execute → commit). Raises
    NotFound (not public), Forbidden (blocked), Conflict (call closed), AlreadyApplied,
    Invalid (per field) or TooManyRequests; nothing is written on any of them."""
    from app.web.antiabuse import check_link_limit

    idea = get_public_idea(session, idea_id)
    user = ensure_can_participate(user)
    closed = open_call_error(idea)
    if closed:
        raise Conflict(closed)
    existing = application_of(session, idea, user)
    if existing is not None:
        raise AlreadyApplied(existing)
    data = validate_application(data)
    check_link_limit(user.created_at, data.motivation, data.experience, field="motivation")
    ratelimit.check_rate(session, RATE_ACTION, user_id=user.id, ip=ip, enabled=rate_limits)
    now = utcnow()
    application = CarrierApplication(
        idea_id=idea.id,  # type: ignore[arg-type]
        user_id=user.id,  # type: ignore[arg-type]
        motivation=data.motivation,
        experience=data.experience,
        organisation=data.organisation,
        contact=data.contact,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    try:
        session.flush()
        team_alerts.carrier_applied(session, user, idea.title)
        session.commit()
    except IntegrityError:
        # The same person submitted twice at once: the other request won.
        session.rollback()
        existing = application_of(session, idea, user)
        if existing is None:
            raise
        raise AlreadyApplied(existing) from None
    session.refresh(application)
    return application


# --- staff review ----------------------------------------------------------------------------


@dataclass
class ApplicationRow:
    application: CarrierApplication
    applicant: User | None

    @property
    def name(self) -> str:
        return self.applicant.display_name if self.applicant else _("Compte supprimé")


def list_applications(session: Session, actor: User | None, idea: Idea) -> list[ApplicationRow]:
    """The idea's applications, oldest first, with their applicants (one query)."""
    ensure_staff(actor)
    rows = session.exec(
        select(CarrierApplication, User)
        .outerjoin(User, User.id == CarrierApplication.user_id)  # type: ignore[arg-type]
        .where(CarrierApplication.idea_id == idea.id)
        .order_by(CarrierApplication.id)  # type: ignore[arg-type]
    ).all()
    return [ApplicationRow(application, applicant) for application, applicant in rows]


# Applications still to be decided: listed for staff on /moderation/applications.
OPEN_STATUSES = (
    ApplicationStatus.new.value,
    ApplicationStatus.shortlisted.value,
    ApplicationStatus.met.value,
)
WAITING_LIMIT = 200


def waiting_applications(
    session: Session, actor: User | None
) -> list[tuple[CarrierApplication, User | None, Idea]]:
    """Every idea's applications not decided yet, newest first, with applicant and idea (one
    query; at most WAITING_LIMIT: a fabrique decides long before that)."""
    ensure_staff(actor)
    return list(
        session.exec(
            select(CarrierApplication, User, Idea)
            .join(Idea, Idea.id == CarrierApplication.idea_id)  # type: ignore[arg-type]
            .outerjoin(User, User.id == CarrierApplication.user_id)  # type: ignore[arg-type]
            .where(CarrierApplication.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
            .order_by(CarrierApplication.id.desc())  # type: ignore[union-attr]
            .limit(WAITING_LIMIT)
        ).all()
    )


def carrier_name_for(application: CarrierApplication, applicant: User | None) -> str:
    name = application.organisation.strip() or (applicant.display_name if applicant else "")
    return name[:120]


_ALREADY_SELECTED_TEXT = N_(
    "Une autre candidature est déjà retenue pour cette idée : changez d'abord son statut, "
    "puis retenez celle-ci."
)


def review_application(
    session: Session,
    actor: User | None,
    application_id: int,
    *,
    status: str,
    staff_notes: str,
) -> CarrierApplication:
    """Changes an application's status and notes (audited; the applicant is told of a status
    change). Selecting records the carrier on the idea; see the module docstring."""
    from app.board.notifications import notify

    actor = ensure_staff(actor)
    application = session.get(CarrierApplication, application_id)
    if application is None:
        raise NotFound(_("Cette candidature n'existe pas."))
    idea = session.get(Idea, application.idea_id)
    if idea is None:  # pragma: no cover - the foreign key cascades
        raise NotFound(_("Cette candidature n'existe pas."))
    notes = _clean(staff_notes)
    errors: dict[str, str] = {}
    if status not in STATUS_LABELS:
        errors["status"] = _("Choisissez un statut dans la liste.")
    if len(notes) > NOTES_MAX:
        errors["staff_notes"] = _(
            "Les notes doivent faire au plus %(max)s caractères.", max=NOTES_MAX
        )
    if errors:
        raise Invalid(errors)
    already_selected = _(_ALREADY_SELECTED_TEXT)
    before_status = application.status
    selected = ApplicationStatus.selected.value
    carrier_changes = status != before_status and selected in (status, before_status)
    if carrier_changes and idea.stage != Stage.seeking_carrier.value:
        raise Invalid(
            {
                "status": _(
                    "Le porteur ne se choisit (ou ne se change) qu'à l'étape « Recherche de "
                    "porteur » : ramenez d'abord l'idée à cette étape."
                )
            }
        )
    now = utcnow()
    applicant = session.get(User, application.user_id)
    idea_before = {
        "carrier_name": idea.carrier_name,
        "carrier_application_id": idea.carrier_application_id,
    }
    if carrier_changes and status == selected:
        other = session.exec(
            select(CarrierApplication.id).where(
                CarrierApplication.idea_id == idea.id,
                CarrierApplication.status == selected,
                CarrierApplication.id != application.id,
            )
        ).first()
        if other is not None:
            raise Invalid({"status": already_selected})
        result = session.exec(  # type: ignore[call-overload]
            update(Idea)
            .where(Idea.id == idea.id, Idea.carrier_application_id.is_(None))  # type: ignore[union-attr]
            .values(
                carrier_name=carrier_name_for(application, applicant),
                carrier_application_id=application.id,
                updated_at=now,
            )
        )
        if result.rowcount != 1:
            session.rollback()
            raise Invalid({"status": already_selected})
    elif carrier_changes:
        session.exec(  # type: ignore[call-overload]
            update(Idea)
            .where(Idea.id == idea.id, Idea.carrier_application_id == application.id)
            .values(carrier_name=None, carrier_application_id=None, updated_at=now)
        )
    before = {"status": before_status, "staff_notes": application.staff_notes}
    application.status = status
    application.staff_notes = notes
    application.updated_at = now
    session.add(application)
    audit.record(
        session,
        actor,
        "application.review",
        "carrier_application",
        application.id,
        before=before,
        after={"status": status, "staff_notes": notes, "idea_id": idea.id},
    )
    if carrier_changes:
        session.refresh(idea)
        audit.record(
            session,
            actor,
            "idea.carrier",
            "idea",
            idea.id,
            before=idea_before,
            after={
                "carrier_name": idea.carrier_name,
                "carrier_application_id": idea.carrier_application_id,
            },
        )
    if status != before_status:
        notify(
            session,
            "pipeline",
            [application.user_id],
            need=None,
            actor=actor,
            message=lambda: _(_STATUS_MESSAGES[status], idea=idea.title),
        )
    session.commit()
    session.refresh(application)
    return application


def select_carrier(
    session: Session, actor: User | None, idea_id: int, application_id: int | None
) -> CarrierApplication:
    """« Retenir ce porteur » on the staff idea page: the application's status becomes
    « Retenue » through review_application (same rules, audit and notification), its notes
    kept. Refusals come as Invalid on `application`, the button's field; nothing is written."""
    actor = ensure_staff(actor)
    idea = get_idea(session, idea_id)
    application = session.get(CarrierApplication, application_id) if application_id else None
    if application is None or application.idea_id != idea.id:
        raise Invalid({"application": _("Choisissez une des candidatures de cette idée.")})
    if application.status == ApplicationStatus.selected.value:
        return application  # sent twice (a double click): already done
    try:
        return review_application(
            session,
            actor,
            application.id,  # type: ignore[arg-type]
            status=ApplicationStatus.selected.value,
            staff_notes=application.staff_notes,
        )
    except Invalid as exc:
        reasons = list(exc.errors.values())
        raise Invalid({"application": reasons[0] if reasons else ""}) from None


# --- the panel of the staff idea page ---------------------------------------------------------


def applications_panel(session: Session, idea: Idea, user: User) -> dict[str, Any]:
    """Context for templates/pipeline/_applications.html (included by the staff idea page)."""
    rows = list_applications(session, user, idea)
    counts: dict[str, int] = dict.fromkeys(STATUS_LABELS, 0)
    for row in rows:
        counts[row.application.status] = counts.get(row.application.status, 0) + 1
    # « Retenir ce porteur » is offered where review_application would accept it: during the
    # call for carriers, while no application is retained.
    can_select = idea.stage == Stage.seeking_carrier.value and not counts.get(
        ApplicationStatus.selected.value
    )
    return {
        "carrier_applications": rows,
        "application_counts": counts,
        "application_status_label": status_label,
        "can_select_carrier": can_select,
    }


PANELS.append(applications_panel)
