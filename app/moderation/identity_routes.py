"""Admin pages of the site's identity: /moderation/site (name, territory, contact, logo, accent
colour, legal details) and /moderation/site/pages/{locale}/{name} (a long page's Markdown, its
rendered text and its previous versions).

Included in app.moderation.admin_routes' router, so admins only (others get 403, signed-out
visitors the sign-in page) and the CSRF check of every moderation form; the services in
app.moderation.identity check the role again. The identity form is multipart (the logo): the
router uses `UploadRoute`, which refuses a request above the logo limit before reading it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.moderation import identity
from app.pipeline import uploads
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid
from app.web.i18n import format_datetime
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id
from app.web.site_identity import (
    DIRECTOR_MAX,
    LEGAL_DETAIL_MAX,
    NAME_MAX,
    PAGE_MAX,
    TERRITORY_MAX,
    VARIABLES,
    page_source,
    read_identity,
    render_page,
    stored_page,
)
from app.web.templating import render

router = APIRouter(route_class=uploads.UploadRoute)
Admin = Annotated[User, Depends(require_role(Role.admin))]
FormStr = Annotated[str, Form()]
Logo = Annotated[UploadFile | None, File()]

NOTICES = {
    "saved": N_("Identité du site enregistrée."),
    "page-saved": N_("Page enregistrée : voici ce que le public lit désormais."),
    "page-reset": N_("La page reprend le texte fourni avec le logiciel."),
    "unchanged": N_("Aucun changement : rien n'a été enregistré."),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("done", "")
    return _(NOTICES[key]) if key in NOTICES else None


# --- identity ------------------------------------------------------------------------------


def _identity_page(
    request: Request,
    session: Session,
    values: identity.IdentityInput,
    *,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    current = read_identity(session)
    settings = request.app.state.settings
    return render(
        request,
        "moderation/site_identity.html",
        {
            "values": values,
            "errors": errors or {},
            "form_error": form_error,
            "current": current,
            "missing": identity.missing_legal(current),
            "pages": identity.pages_overview(session),
            "limits": {
                "name": NAME_MAX,
                "territory": TERRITORY_MAX,
                "director": DIRECTOR_MAX,
                "legal": LEGAL_DETAIL_MAX,
            },
            "logo_max_mb": uploads.format_mb(uploads.logo_limit(settings)),
            "notice": _notice(request),
            "section": "settings",
        },
        status_code=status_code,
    )


@router.get("/site")
def identity_page(request: Request, session: SessionDep, user: Admin) -> Response:
    return _identity_page(request, session, identity.IdentityInput.of(read_identity(session)))


@router.post("/site")
@uploads.upload_limit(uploads.logo_limit)
def save_identity(
    request: Request,
    session: SessionDep,
    user: Admin,
    name: FormStr = "",
    territory: FormStr = "",
    contact_email: FormStr = "",
    accent: FormStr = "",
    publisher: FormStr = "",
    director: FormStr = "",
    host: FormStr = "",
    remove_logo: FormStr = "",
    logo: Logo = None,
) -> Response:
    values = identity.IdentityInput(
        name=name,
        territory=territory,
        contact_email=contact_email,
        accent=accent,
        publisher=publisher,
        director=director,
        host=host,
    )
    try:
        changed = identity.update_identity(
            session, user, values, logo=logo, remove_logo=remove_logo == "1"
        )
    except Invalid as exc:
        session.rollback()
        return _identity_page(request, session, values, errors=exc.errors, status_code=422)
    except Conflict as exc:
        return _identity_page(request, session, values, form_error=exc.detail, status_code=409)
    done = "saved" if changed else "unchanged"
    return RedirectResponse(f"/moderation/site?done={done}", status_code=303)


# --- pages ---------------------------------------------------------------------------------


_HEADING = re.compile(r"<(/?)h([1-6])>")


def demote_headings(html: str) -> str:
    """The page's headings two levels down, so that shown inside the editor (under its « Ce
    que le public lit » h2) the outline stays right: the title an h3, its parts h4."""
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 2, 6)}>", html)


def _page_editor(
    request: Request,
    session: Session,
    locale: str,
    name: str,
    *,
    typed: str | None = None,
    preview: str | None = None,
    restoring: str | None = None,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    identity.check_page(locale, name)
    source = page_source(session, locale, name)
    rendered = render_page(
        source if preview is None else preview,
        read_identity(session),
        locale,
        request.app.state.settings,
    )
    context: dict[str, Any] = {
        "locale_of_page": locale,
        "page_name": name,
        "label": _(identity.PAGE_LABELS[name]),
        "locale_label": _(identity.LOCALE_LABELS[locale]),
        "markdown": source if typed is None else typed,
        "edited": stored_page(session, locale, name) is not None,
        "preview_html": demote_headings(rendered.html),
        # True when the text shown is what was typed, not saved: the section says so.
        "is_preview": preview is not None,
        "restoring": restoring,
        "revisions": identity.page_revisions(session, locale, name),
        "variables": VARIABLES,
        "page_max": PAGE_MAX,
        "errors": errors or {},
        "form_error": form_error,
        "notice": _notice(request),
        "section": "settings",
    }
    return render(request, "moderation/site_page.html", context, status_code=status_code)


@router.get("/site/pages/{locale}/{name}")
def page_editor(
    request: Request, session: SessionDep, user: Admin, locale: str, name: str
) -> Response:
    # « Reprendre ce texte » on a previous version: its text in the box, nothing written until
    # the admin saves (which keeps the current text as a revision in turn).
    wanted = parse_id(request.query_params.get("from_revision"))
    if wanted is not None:
        for revision in identity.page_revisions(session, locale, name):
            if revision.id == wanted:
                return _page_editor(
                    request,
                    session,
                    locale,
                    name,
                    typed=revision.body,
                    restoring=format_datetime(revision.created_at),
                )
    return _page_editor(request, session, locale, name)


@router.post("/site/pages/{locale}/{name}")
def save_page(
    request: Request,
    session: SessionDep,
    user: Admin,
    locale: str,
    name: str,
    markdown: FormStr = "",
    action: FormStr = "save",
) -> Response:
    identity.check_page(locale, name)
    if action == "preview":
        # The typed text rendered as the public would read it; nothing is written.
        try:
            checked = identity.validate_page(markdown)
        except Invalid as exc:
            return _page_editor(
                request, session, locale, name, typed=markdown, errors=exc.errors, status_code=422
            )
        return _page_editor(request, session, locale, name, typed=markdown, preview=checked)
    reset = action == "reset"
    try:
        changed = identity.update_page(session, user, locale, name, markdown, reset=reset)
    except Invalid as exc:
        session.rollback()
        return _page_editor(
            request, session, locale, name, typed=markdown, errors=exc.errors, status_code=422
        )
    except Conflict as exc:
        return _page_editor(
            request, session, locale, name, typed=markdown, form_error=exc.detail, status_code=409
        )
    done = ("page-reset" if reset else "page-saved") if changed else "unchanged"
    return RedirectResponse(f"/moderation/site/pages/{locale}/{name}?done={done}", status_code=303)
