"""The moderation area (/moderation/), for moderators and above, with its own navigation.

So far: the dashboard (what waits) and the audit log (admins; staff read-only — nobody can
edit it: the log has no write route at all). The queue and the decisions come next.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import func
from sqlmodel import select

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board.models import Need, NeedStatus, Report
from app.moderation import audit
from app.web.deps import SessionDep
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.templating import render

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.moderator))])
Staff = Annotated[User, Depends(require_role(Role.staff))]
Moderator = Annotated[User, Depends(require_role(Role.moderator))]
FormStr = Annotated[str, Form()]


@router.get("/")
def dashboard(request: Request, session: SessionDep, user: Moderator) -> Response:
    pending = session.exec(
        select(func.count()).where(
            Need.status == NeedStatus.pending.value,
            Need.deleted_at.is_(None),  # type: ignore[union-attr]
        )
    ).one()
    open_reports = session.exec(select(func.count()).where(Report.status == "open")).one()
    return render(
        request,
        "moderation/index.html",
        {"pending": pending, "open_reports": open_reports, "section": "dashboard"},
    )


def _audit_filters(params: dict[str, str]) -> tuple[audit.AuditFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    filters = audit.AuditFilters(
        action=params.get("action", "")[:40], target_kind=params.get("target_kind", "")[:20]
    )
    for name in ("actor", "target_id"):
        raw = params.get(name, "")
        if raw:
            value = parse_id(raw)
            if value is None:
                errors[name] = _("Indiquez un numéro entier positif.")
            setattr(filters, name, value)
    for name in ("since", "until"):
        raw = params.get(name, "")
        if raw:
            try:
                setattr(filters, name, date.fromisoformat(raw))
            except ValueError:
                errors[name] = _("Indiquez une date au format AAAA-MM-JJ.")
    raw_page = params.get("page", "") or "1"
    page = parse_id(raw_page)
    if page is None:
        errors["page"] = _("Le numéro de page doit être un nombre entier à partir de 1.")
    else:
        filters.page = page
    return filters, errors


@router.get("/audit")
def audit_log(request: Request, session: SessionDep, user: Staff) -> Response:
    params = dict(request.query_params)
    filters, errors = _audit_filters(params)
    entries, has_next = audit.list_entries(session, filters) if not errors else ([], False)
    query: dict[str, Any] = {k: v for k, v in params.items() if k != "page" and v}
    return render(
        request,
        "moderation/audit.html",
        {
            "entries": entries,
            "has_next": has_next,
            "filters": filters,
            "values": params,
            "errors": errors,
            "actions": audit.known_actions(session),
            "query": query,
            "section": "audit",
        },
        status_code=400 if errors else 200,
    )


@router.get("/audit.csv")
def audit_csv(request: Request, session: SessionDep, user: Staff) -> Response:
    filters, errors = _audit_filters(dict(request.query_params))
    if errors:
        return render(
            request,
            "moderation/audit.html",
            {
                "entries": [],
                "has_next": False,
                "filters": filters,
                "values": dict(request.query_params),
                "errors": errors,
                "actions": audit.known_actions(session),
                "query": {},
                "section": "audit",
            },
            status_code=400,
        )
    filename = f"journal-moderation-{date.today().isoformat()}.csv"
    return StreamingResponse(
        audit.export_csv(session, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- the queue of needs waiting for approval ------------------------------------------------


def _queue_page(
    request: Request,
    session: SessionDep,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    from app.moderation.service import REASONS, pending_needs

    return render(
        request,
        "moderation/queue.html",
        {
            "needs": pending_needs(session),
            "reasons": REASONS,
            "errors": errors or {},
            "notice": notice,
            "section": "queue",
        },
        status_code=status_code,
    )


@router.get("/queue")
def queue(request: Request, session: SessionDep, user: Moderator) -> Response:
    done = request.query_params.get("done", "")
    notice = _("Décision enregistrée ; l'auteur·e est prévenu·e.") if done else None
    return _queue_page(request, session, notice=notice)


@router.post("/needs/{need_id}/decision")
def decide(
    request: Request,
    session: SessionDep,
    user: Moderator,
    need_id: int,
    decision: FormStr = "",
    seen_status: FormStr = "",
    reason: FormStr = "",
    detail: FormStr = "",
    next: FormStr = "",
) -> Response:
    from app.accounts.routes import safe_next
    from app.moderation.service import decide_need
    from app.web.errors import Conflict, Invalid

    try:
        decide_need(
            session,
            user,
            need_id,
            decision,
            seen_status=seen_status,
            reason=reason,
            detail=detail,
        )
    except Invalid as exc:
        if next:  # acting from the public page: say what is missing there, in a plain page
            raise Invalid(exc.errors, detail=" ".join(exc.errors.values())) from None
        return _queue_page(request, session, errors={need_id: exc.errors}, status_code=422)
    except Conflict as exc:
        if next:
            raise
        return _queue_page(request, session, notice=exc.detail, status_code=409)
    target = safe_next(next, "")
    if target:
        return RedirectResponse(f"{target}?notice=moderated", status_code=303)
    return RedirectResponse("/moderation/queue?done=1", status_code=303)
