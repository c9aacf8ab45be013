"""Carriers and entrepreneurs (issue 17 item 7), thin routes over app.pipeline.carriers and
app.pipeline.incubator:

- the person's own pages: /account/carrier (the register: join, edit, withdraw; the ideas the
  fabrique proposed to them) and /account/project (« Je porte déjà un projet »);
- the staff pages: /moderation/carriers (the register, filtered by territory and availability,
  with « Proposer cette idée » on each profile) and /moderation/carriers/projects (the projects
  brought, to turn into ideas or decline).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import CurrentUser, require_role
from app.accounts.models import Role, User
from app.board.service import ensure_can_participate
from app.pipeline import carriers, incubator
from app.pipeline.carriers import ProfileInput
from app.pipeline.incubator import ProposalInput
from app.pipeline.models import ProposalStatus
from app.web.deps import SessionDep
from app.web.errors import Invalid, NotFound
from app.web.i18n import get_locale
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import is_valid_id, parse_id
from app.web.security import client_ip
from app.web.templating import render

router = APIRouter()
Staff = Annotated[User, Depends(require_role(Role.staff))]
FormStr = Annotated[str, Form()]

NOTICES = {
    "saved": N_("Votre profil de porteur est enregistré. Seule l'équipe de la fabrique le voit."),
    "withdrawn": N_(
        "Vous n'êtes plus inscrit·e au registre des porteurs : votre profil est effacé."
    ),
    "sent": N_("Votre projet est envoyé à l'équipe de la fabrique, qui vous répondra ici."),
    "invited": N_("L'idée est proposée ; la personne est prévenue."),
    "declined": N_("Le projet est décliné ; la personne est prévenue, avec votre message."),
}


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    return _(NOTICES[done]) if done in NOTICES else None


def _labels(labels: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, _(text)) for key, text in labels.items()]


# --- the register: the person's own profile ----------------------------------------------------


def _profile_page(
    request: Request,
    session: SessionDep,
    user: User,
    values: ProfileInput | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    profile = carriers.profile_of(session, user)
    return render(
        request,
        "accounts/carrier_profile.html",
        {
            "profile": profile,
            "values": values or ProfileInput.of(session, profile),
            "errors": errors or {},
            "domains": _labels(carriers.DOMAINS),
            "availabilities": _labels(carriers.AVAILABILITY_LABELS),
            "territories": carriers.active_territories(session),
            "invitations": carriers.my_invitations(session, user),
            "limits": {
                "skills_max": carriers.SKILLS_MAX,
                "presentation_min": carriers.PRESENTATION_MIN,
                "presentation_max": carriers.PRESENTATION_MAX,
            },
            "notice": _notice(request),
        },
        status_code=status_code,
    )


@router.get("/account/carrier")
def profile_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    ensure_can_participate(user)
    return _profile_page(request, session, user)


@router.post("/account/carrier")
async def save_profile(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    data = ProfileInput.from_form(await request.form())
    try:
        carriers.save_profile(session, user, data)
    except Invalid as exc:
        session.rollback()
        return _profile_page(request, session, user, data, exc.errors, status_code=422)
    return RedirectResponse("/account/carrier?done=saved", status_code=303)


@router.post("/account/carrier/withdraw")
def withdraw_profile(session: SessionDep, user: CurrentUser) -> Response:
    carriers.withdraw_profile(session, user)
    return RedirectResponse("/account/carrier?done=withdrawn", status_code=303)


# --- the incubator route: « Je porte déjà un projet » ------------------------------------------


def _project_page(
    request: Request,
    session: SessionDep,
    user: User,
    values: ProposalInput | None = None,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    from app.web.antiabuse import guard_values

    return render(
        request,
        "accounts/carrier_project.html",
        {
            "values": values or ProposalInput(),
            "errors": errors or {},
            "form_error": form_error,
            "territories": carriers.active_territories(session),
            "proposals": incubator.my_proposals(session, user),
            "status_label": lambda s: carriers.label(incubator.PROPOSAL_STATUS_LABELS, s),
            "guard": guard_values(request.app.state.settings),
            "limits": {
                "title_max": incubator.TITLE_MAX,
                "description_min": incubator.DESCRIPTION_MIN,
                "description_max": incubator.DESCRIPTION_MAX,
                "organisation_max": incubator.ORGANISATION_MAX,
                "contact_max": incubator.CONTACT_MAX,
            },
            "notice": _notice(request),
        },
        status_code=status_code,
    )


@router.get("/account/project")
def project_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    ensure_can_participate(user)
    return _project_page(request, session, user)


@router.post("/account/project")
async def submit_project(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    from app.web.antiabuse import FormRejected, check_guard

    ensure_can_participate(user)
    form = await request.form()
    data = ProposalInput.from_form(form)
    settings = request.app.state.settings
    try:
        check_guard(form, settings, session=session)
        incubator.submit_proposal(
            session,
            user,
            data,
            ip=client_ip(request),
            rate_limits=settings.rate_limits == "on",
        )
    except FormRejected as exc:
        return _project_page(request, session, user, data, form_error=exc.detail, status_code=422)
    except Invalid as exc:
        session.rollback()
        return _project_page(request, session, user, data, exc.errors, status_code=422)
    return RedirectResponse("/account/project?done=sent#my-projects", status_code=303)


# --- staff: the register ----------------------------------------------------------------------


def _register_page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    territories = carriers.active_territories(session)
    by_slug = {t.slug: t for t in territories}
    territory_slug = request.query_params.get("territory", "")
    availability = request.query_params.get("availability", "")
    filter_errors: dict[str, str] = {}
    if territory_slug and territory_slug not in by_slug:
        filter_errors["territory"] = _(
            "Ce territoire n'existe pas : choisissez-en un dans la liste."
        )
    if availability and availability not in carriers.AVAILABILITY_LABELS:
        filter_errors["availability"] = _("Choisissez une disponibilité dans la liste.")
    territory = by_slug.get(territory_slug)
    rows = carriers.list_profiles(
        session,
        user,
        territory_id=territory.id if territory else None,
        availability=availability if not filter_errors.get("availability") else None,
    )
    kept = []
    if territory:
        english = get_locale() == "en" and territory.name_en
        kept.append(territory.name_en if english else territory.name)
    if availability in carriers.AVAILABILITY_LABELS:
        kept.append(_(carriers.AVAILABILITY_LABELS[availability]))
    return render(
        request,
        "pipeline/carriers.html",
        {
            "rows": rows,
            "territories": territories,
            "filters": {"territory": territory_slug, "availability": availability},
            "filter_errors": filter_errors,
            "kept": kept,
            "availabilities": _labels(carriers.AVAILABILITY_LABELS),
            "availability_label": lambda a: carriers.label(carriers.AVAILABILITY_LABELS, a),
            "ideas": carriers.ideas_seeking_a_carrier(session),
            "errors": errors or {},
            "values": values or {},
            "message_max": carriers.MESSAGE_MAX,
            "notice": _notice(request),
            "section": "carriers",
        },
        status_code=400 if filter_errors and status_code == 200 else status_code,
    )


@router.get("/moderation/carriers")
def register_page(request: Request, session: SessionDep, user: Staff) -> Response:
    return _register_page(request, session, user)


@router.post("/moderation/carriers/{profile_id}/invite")
def invite(
    request: Request,
    session: SessionDep,
    user: Staff,
    profile_id: int,
    idea: FormStr = "",
    message: FormStr = "",
) -> Response:
    if not is_valid_id(profile_id):
        raise NotFound(_("Cette personne n'est plus inscrite au registre des porteurs."))
    try:
        carriers.invite(session, user, profile_id, parse_id(idea), message)
    except Invalid as exc:
        session.rollback()
        return _register_page(
            request,
            session,
            user,
            errors={profile_id: exc.errors},
            values={profile_id: {"idea": idea, "message": message}},
            status_code=422,
        )
    return RedirectResponse(
        f"/moderation/carriers?done=invited#profile-{profile_id}", status_code=303
    )


# --- staff: the projects brought (incubator route) ----------------------------------------------


def _projects_page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    status = request.query_params.get("status", "")
    bad_status = bool(status) and status not in incubator.PROPOSAL_STATUS_LABELS
    return render(
        request,
        "pipeline/carrier_projects.html",
        {
            "rows": incubator.list_proposals(session, user, "" if bad_status else status),
            "status": status,
            "status_error": _("Choisissez un statut dans la liste.") if bad_status else None,
            "statuses": _labels(incubator.PROPOSAL_STATUS_LABELS),
            "status_label": lambda s: carriers.label(incubator.PROPOSAL_STATUS_LABELS, s),
            "waiting": ProposalStatus.new.value,
            "errors": errors or {},
            "values": values or {},
            "note_min": incubator.NOTE_MIN,
            "note_max": incubator.NOTE_MAX,
            "notice": _notice(request),
            "section": "carriers",
        },
        status_code=400 if bad_status and status_code == 200 else status_code,
    )


@router.get("/moderation/carriers/projects")
def projects_page(request: Request, session: SessionDep, user: Staff) -> Response:
    return _projects_page(request, session, user)


@router.post("/moderation/carriers/projects/{proposal_id}/accept")
def accept_project(
    request: Request, session: SessionDep, user: Staff, proposal_id: int
) -> Response:
    if not is_valid_id(proposal_id):
        raise NotFound(_("Ce projet proposé n'existe pas."))
    try:
        idea = incubator.accept_proposal(session, user, proposal_id)
    except Invalid as exc:
        session.rollback()
        return _projects_page(
            request, session, user, errors={proposal_id: exc.errors}, status_code=422
        )
    return RedirectResponse(f"/moderation/ideas/{idea.id}?saved=created", status_code=303)


@router.post("/moderation/carriers/projects/{proposal_id}/decline")
def decline_project(
    request: Request,
    session: SessionDep,
    user: Staff,
    proposal_id: int,
    staff_note: FormStr = "",
) -> Response:
    if not is_valid_id(proposal_id):
        raise NotFound(_("Ce projet proposé n'existe pas."))
    try:
        incubator.decline_proposal(session, user, proposal_id, staff_note)
    except Invalid as exc:
        session.rollback()
        return _projects_page(
            request,
            session,
            user,
            errors={proposal_id: exc.errors},
            values={proposal_id: {"staff_note": staff_note}},
            status_code=422,
        )
    return RedirectResponse(
        f"/moderation/carriers/projects?done=declined#project-{proposal_id}", status_code=303
    )
