"""Partners: the staff pages (/moderation/partners…), the links between partners and ideas
(from the staff idea page), and the public side (/partners and the logos).
Thin routes: app.pipeline.partners does the work.

Staff routes carry `require_role(Role.staff)` one by one (this router has no prefix: its
public routes live here too). The partner form is multipart (the logo): it uses `UploadRoute`,
which refuses a request above the logo limit before reading it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.pipeline import partners, uploads
from app.pipeline.idea_file import render_idea_page
from app.pipeline.models import Idea, IdeaPartner, Partner
from app.pipeline.partner_figures import figures_context
from app.pipeline.service import get_idea, stage_label
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import is_valid_id, parse_id
from app.web.templating import render

router = APIRouter(route_class=uploads.UploadRoute)
Staff = Annotated[User, Depends(require_role(Role.staff))]
FormStr = Annotated[str, Form()]
Logo = Annotated[UploadFile | None, File()]

NOTICES = {
    "created": N_("Le partenaire est créé."),
    "saved": N_("Les modifications sont enregistrées."),
    "archived": N_(
        "Le partenaire est archivé : il n'apparaît plus sur la page publique ni dans les listes."
    ),
    "restored": N_("Le partenaire est de nouveau actif."),
}


def _partner_or_404(session: Session, partner_id: int) -> Partner:
    if not is_valid_id(partner_id):
        raise NotFound(_("Ce partenaire n'existe pas."))
    return partners.get_partner(session, partner_id)


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    return _(NOTICES[done]) if done in NOTICES else None


def _common() -> dict[str, Any]:
    return {
        "kind_label": partners.kind_label,
        "role_labels": partners.role_labels,
        "logo_url": partners.logo_url,
        "section": "partners",
    }


# --- staff: partners ----------------------------------------------------------------------------


@router.get("/moderation/partners")
def partners_admin(request: Request, session: SessionDep, user: Staff) -> Response:
    return render(
        request,
        "pipeline/partners_admin.html",
        {
            **_common(),
            "active": partners.list_partners(session, user),
            "archived": partners.list_partners(session, user, archived=True),
            # Counters only (visits, needs posted, supports through the partner's links).
            **figures_context(session),
            "notice": _notice(request),
        },
    )


def _ideas_of(session: Session, partner: Partner | None) -> list[tuple[IdeaPartner, Idea]]:
    if partner is None:
        return []
    return [
        (link, idea)
        for link, idea in session.exec(
            select(IdeaPartner, Idea)
            .join(Idea, Idea.id == IdeaPartner.idea_id)  # type: ignore[arg-type]
            .where(IdeaPartner.partner_id == partner.id)
            .order_by(Idea.title, IdeaPartner.link)  # type: ignore[arg-type]
        ).all()
    ]


def _form_page(
    request: Request,
    session: Session,
    partner: Partner | None,
    values: partners.PartnerInput,
    *,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    return render(
        request,
        "pipeline/partner_form.html",
        {
            **_common(),
            "partner": partner,
            "values": values,
            "errors": errors or {},
            "form_error": form_error,
            "kinds": partners.KIND_LABELS,
            "roles": {role: label for role, (_c, label, _h) in partners.ROLES.items()},
            "role_hints": partners.ROLE_HINTS,
            "logo_max_mb": uploads.format_mb(uploads.logo_limit(settings)),
            "linked_ideas": _ideas_of(session, partner),
            "link_label": partners.link_label,
            "stage_label": stage_label,
            "limits": {
                "name": partners.NAME_MAX,
                "website": partners.WEBSITE_MAX,
                "description": partners.DESCRIPTION_MAX,
            },
            "notice": _notice(request),
            **_attribution_context(request, session, partner),
        },
        status_code=status_code,
    )


def _attribution_context(
    request: Request, session: Session, partner: Partner | None
) -> dict[str, Any]:
    """The partner's figures by month and its own embed code (with its `ref`)."""
    if partner is None or partner.id is None:
        return {}
    base = request.app.state.settings.base_url
    return {
        **figures_context(session, partner),
        "embed_code": f'<script src="{base}/embed.js" data-ref="{partner.slug}" async></script>',
        "builder_url": "/partners/embed?" + urlencode({"ref": partner.slug}),
    }


def _input(name: str, kind: str, roles: list[str], website: str, description: str) -> Any:
    return partners.PartnerInput(
        name=name, kind=kind, roles=roles, website=website, description=description
    )


@router.get("/moderation/partners/new")
def new_partner_page(request: Request, session: SessionDep, user: Staff) -> Response:
    return _form_page(request, session, None, partners.PartnerInput())


@router.post("/moderation/partners/new")
@uploads.upload_limit(uploads.logo_limit)
def create_partner(
    request: Request,
    session: SessionDep,
    user: Staff,
    name: FormStr = "",
    kind: FormStr = "",
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    website: FormStr = "",
    description: FormStr = "",
    logo: Logo = None,
) -> Response:
    data = _input(name, kind, roles, website, description)
    try:
        partner = partners.create_partner(session, user, data, logo=logo)
    except Invalid as exc:
        session.rollback()
        return _form_page(request, session, None, data, errors=exc.errors, status_code=422)
    except Conflict as exc:
        return _form_page(request, session, None, data, form_error=exc.detail, status_code=409)
    return RedirectResponse(f"/moderation/partners/{partner.id}?done=created", status_code=303)


@router.get("/moderation/partners/{partner_id}")
def edit_partner_page(
    request: Request, session: SessionDep, user: Staff, partner_id: int
) -> Response:
    partner = _partner_or_404(session, partner_id)
    values = partners.PartnerInput(
        name=partner.name,
        kind=partner.kind,
        roles=partners.roles_of(partner),
        website=partner.website or "",
        description=partner.description,
    )
    return _form_page(request, session, partner, values)


@router.post("/moderation/partners/{partner_id}")
@uploads.upload_limit(uploads.logo_limit)
def update_partner(
    request: Request,
    session: SessionDep,
    user: Staff,
    partner_id: int,
    name: FormStr = "",
    kind: FormStr = "",
    roles: Annotated[list[str], Form()] = [],  # noqa: B006
    website: FormStr = "",
    description: FormStr = "",
    remove_logo: FormStr = "",
    logo: Logo = None,
) -> Response:
    partner = _partner_or_404(session, partner_id)
    data = _input(name, kind, roles, website, description)
    try:
        partners.update_partner(
            session, user, partner_id, data, logo=logo, remove_logo=remove_logo == "1"
        )
    except Invalid as exc:
        session.rollback()
        partner = partners.get_partner(session, partner_id)
        return _form_page(request, session, partner, data, errors=exc.errors, status_code=422)
    return RedirectResponse(f"/moderation/partners/{partner.id}?done=saved", status_code=303)


@router.post("/moderation/partners/{partner_id}/archive")
def archive_partner(session: SessionDep, user: Staff, partner_id: int) -> Response:
    _partner_or_404(session, partner_id)
    partners.set_archived(session, user, partner_id, archived=True)
    return RedirectResponse("/moderation/partners?done=archived", status_code=303)


@router.post("/moderation/partners/{partner_id}/restore")
def restore_partner(session: SessionDep, user: Staff, partner_id: int) -> Response:
    _partner_or_404(session, partner_id)
    partners.set_archived(session, user, partner_id, archived=False)
    return RedirectResponse("/moderation/partners?done=restored", status_code=303)


# --- staff: links between ideas and partners ------------------------------------------------------


def _idea_or_404(session: Session, idea_id: int) -> Idea:
    if not is_valid_id(idea_id):
        raise NotFound(_("Cette idée n'existe pas."))
    return get_idea(session, idea_id)


@router.post("/moderation/ideas/{idea_id}/partners")
def link_partner(
    request: Request,
    session: SessionDep,
    user: Staff,
    idea_id: int,
    partner_id: FormStr = "",
    link: FormStr = "",
) -> Response:
    idea = _idea_or_404(session, idea_id)
    try:
        partners.link_partner(session, user, idea_id, parse_id(partner_id), link)
    except Invalid as exc:
        session.rollback()
        return render_idea_page(
            request,
            session,
            user,
            idea,
            extra={
                "partner_errors": exc.errors,
                "partner_values": {"partner_id": partner_id, "link": link},
            },
            status_code=422,
        )
    return RedirectResponse(
        f"/moderation/ideas/{idea.id}?done=partner_linked#partners", status_code=303
    )


@router.post("/moderation/ideas/{idea_id}/partners/{link_id}/delete")
def unlink_partner(session: SessionDep, user: Staff, idea_id: int, link_id: int) -> Response:
    idea = _idea_or_404(session, idea_id)
    if not is_valid_id(link_id):
        raise NotFound(_("Ce lien n'existe pas ou plus."))
    partners.unlink_partner(session, user, idea_id, link_id)
    return RedirectResponse(
        f"/moderation/ideas/{idea.id}?done=partner_unlinked#partners", status_code=303
    )


# --- public -------------------------------------------------------------------------------------


@router.get("/partners")
def public_partners(request: Request, session: SessionDep) -> Response:
    return render(
        request,
        "pipeline/partners.html",
        {"groups": partners.public_partners(session), "stage_label": stage_label},
    )


@router.get("/partners/{slug}/logo")
def partner_logo(session: SessionDep, slug: str) -> Response:
    if len(slug) > 80:
        raise NotFound(_("Ce logo n'existe pas."))
    partner, path = partners.logo_file(session, slug)
    return uploads.logo_response(path, partner.logo_type)
