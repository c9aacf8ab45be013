"""Carrier applications: the resident's form (/ideas/{idea_id}/apply) and the staff review
(/moderation/ideas/{idea_id}/applications, POST /moderation/applications/{application_id}).
Thin routes: app.pipeline.applications does the work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import CurrentUser, require_role
from app.accounts.models import Role, User
from app.board.service import ensure_can_participate
from app.pipeline import applications
from app.pipeline.applications import AlreadyApplied, ApplicationInput
from app.pipeline.idea_file import render_idea_page
from app.pipeline.models import ApplicationStatus, CarrierApplication, Idea
from app.pipeline.service import get_idea, stage_label
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import is_valid_id, parse_id
from app.web.security import client_ip
from app.web.templating import render

router = APIRouter()
Staff = Annotated[User, Depends(require_role(Role.staff))]
FormStr = Annotated[str, Form()]


def idea_path(idea: Idea) -> str:
    return f"/ideas/{idea.id}-{idea.slug}"


# --- applying ---------------------------------------------------------------------------------


def _apply_context(
    request: Request,
    idea: Idea,
    data: ApplicationInput,
    *,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    refusal: str | None = None,
    existing: CarrierApplication | None = None,
) -> dict[str, Any]:
    from app.web.antiabuse import guard_values

    return {
        "idea": idea,
        "idea_url": idea_path(idea),
        "values": data,
        "errors": errors or {},
        "form_error": form_error,
        "refusal": refusal,
        "existing": existing,
        "status_label": applications.status_label,
        "guard": guard_values(request.app.state.settings),
        "limits": {
            "motivation_min": applications.MOTIVATION_MIN,
            "motivation_max": applications.MOTIVATION_MAX,
            "experience_max": applications.EXPERIENCE_MAX,
            "organisation_max": applications.ORGANISATION_MAX,
            "contact_max": applications.CONTACT_MAX,
        },
    }


def _load_for_applicant(session: SessionDep, user: User, idea_id: int) -> Idea:
    if not is_valid_id(idea_id):
        raise NotFound(_("Cette idée n'existe pas ou n'est pas publique."))
    idea = applications.get_public_idea(session, idea_id)
    ensure_can_participate(user)
    return idea


@router.get("/ideas/{idea_id}/apply")
def apply_page(request: Request, session: SessionDep, user: CurrentUser, idea_id: int) -> Response:
    idea = _load_for_applicant(session, user, idea_id)
    existing = applications.application_of(session, idea, user)
    refusal = applications.open_call_error(idea) if existing is None else None
    return render(
        request,
        "pipeline/apply.html",
        _apply_context(request, idea, ApplicationInput(), refusal=refusal, existing=existing),
        status_code=409 if refusal else 200,
    )


@router.post("/ideas/{idea_id}/apply")
async def apply(request: Request, session: SessionDep, user: CurrentUser, idea_id: int) -> Response:
    from app.web.antiabuse import FormRejected, check_guard

    idea = _load_for_applicant(session, user, idea_id)
    form = await request.form()
    data = ApplicationInput.from_form(form)
    settings = request.app.state.settings
    try:
        # The same form sent again (a double click) passes once more, to find the application
        # it wrote (AlreadyApplied below); a used form value is refused otherwise.
        check_guard(form, settings, session=session, resend_of=f"{user.id}:{idea_id}")
        applications.apply(
            session,
            user,
            idea_id,
            data,
            ip=client_ip(request),
            rate_limits=settings.rate_limits == "on",
        )
    except FormRejected as exc:
        ctx = _apply_context(request, idea, data, form_error=exc.detail)
        return render(request, "pipeline/apply.html", ctx, status_code=422)
    except AlreadyApplied as exc:
        ctx = _apply_context(request, idea, data, existing=exc.application)
        return render(request, "pipeline/apply.html", ctx, status_code=409)
    except Invalid as exc:
        ctx = _apply_context(request, idea, data, errors=exc.errors)
        return render(request, "pipeline/apply.html", ctx, status_code=422)
    except Conflict as exc:
        ctx = _apply_context(request, idea, data, refusal=exc.detail)
        return render(request, "pipeline/apply.html", ctx, status_code=409)
    return RedirectResponse(f"{idea_path(idea)}?notice=applied#candidature", status_code=303)


# --- staff review -----------------------------------------------------------------------------

NOTICES = {"saved": N_("Candidature mise à jour ; la personne est prévenue si son statut change.")}


def _review_page(
    request: Request,
    session: SessionDep,
    user: User,
    idea: Idea,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    done = request.query_params.get("done", "")
    return render(
        request,
        "pipeline/applications.html",
        {
            "idea": idea,
            "rows": applications.list_applications(session, user, idea),
            "statuses": [s.value for s in ApplicationStatus],
            "status_label": applications.status_label,
            "stage_label": stage_label,
            "errors": errors or {},
            "values": values or {},
            "notes_max": applications.NOTES_MAX,
            "notice": _(NOTICES[done]) if done in NOTICES else None,
            "section": "ideas",
        },
        status_code=status_code,
    )


@router.get("/moderation/applications")
def waiting_page(request: Request, session: SessionDep, user: Staff) -> Response:
    """Every application still to be decided, whatever its idea: where the staff's alerts of
    new applications lead (app/board/team_alerts.py)."""
    return render(
        request,
        "pipeline/applications_waiting.html",
        {
            "rows": applications.waiting_applications(session, user),
            "limit": applications.WAITING_LIMIT,
            "status_label": applications.status_label,
            "section": "applications",
        },
    )


@router.get("/moderation/ideas/{idea_id}/applications")
def review_page(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    if not is_valid_id(idea_id):
        raise NotFound(_("Cette idée n'existe pas."))
    return _review_page(request, session, user, get_idea(session, idea_id))


@router.post("/moderation/applications/{application_id}")
def review(
    request: Request,
    session: SessionDep,
    user: Staff,
    application_id: int,
    status: FormStr = "",
    staff_notes: FormStr = "",
) -> Response:
    application = (
        session.get(CarrierApplication, application_id) if is_valid_id(application_id) else None
    )
    if application is None:
        raise NotFound(_("Cette candidature n'existe pas."))
    idea_id = application.idea_id
    try:
        applications.review_application(
            session, user, application_id, status=status, staff_notes=staff_notes
        )
    except Invalid as exc:
        session.rollback()
        return _review_page(
            request,
            session,
            user,
            get_idea(session, idea_id),
            errors={application_id: exc.errors},
            values={application_id: {"status": status, "staff_notes": staff_notes}},
            status_code=422,
        )
    return RedirectResponse(
        f"/moderation/ideas/{idea_id}/applications?done=saved#application-{application_id}",
        status_code=303,
    )


@router.post("/moderation/ideas/{idea_id}/carrier/application")
def select_carrier(
    request: Request, session: SessionDep, user: Staff, idea_id: int, application: FormStr = ""
) -> Response:
    """« Retenir ce porteur » on the staff idea page: the button's value names the application.
    A refusal shows the idea page again with the reason in its carrier section."""
    if not is_valid_id(idea_id):
        raise NotFound(_("Cette idée n'existe pas."))
    try:
        applications.select_carrier(session, user, idea_id, parse_id(application))
    except Invalid as exc:
        session.rollback()
        return render_idea_page(
            request,
            session,
            user,
            get_idea(session, idea_id),
            extra={"form": "carrier", "errors": exc.errors},
            status_code=422,
        )
    return RedirectResponse(
        f"/moderation/ideas/{idea_id}?saved=carrier_selected#carrier", status_code=303
    )
