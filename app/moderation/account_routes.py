"""Accounts in the moderation area: search, one account's page, block / unblock, trust /
untrust, role (admin). Thin routes: the rules live in app.moderation.accounts.

Every action is a plain form (303 back to the account's page with a notice); a refused input
re-renders the page with the message beside its field (422) and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.accounts.permissions import can_change_role
from app.board.models import COMMENT_STATUS_LABELS
from app.board.reports import REASONS as REPORT_REASONS
from app.moderation import account_file, accounts
from app.moderation.permissions import can_moderate_account, can_see_emails
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_page
from app.web.templating import render

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.moderator))])
Moderator = Annotated[User, Depends(require_role(Role.moderator))]
FormStr = Annotated[str, Form()]

NOTICES = {
    "block": N_("Le compte est bloqué ; la personne est prévenue, avec le motif."),
    "unblock": N_("Le compte est débloqué ; la personne est prévenue."),
    "trust": N_(
        "Ce compte est désormais de confiance : ses publications ne passent plus par la file."
    ),
    "untrust": N_("Ce compte n'est plus de confiance : ses publications repassent par la file."),
    "role": N_("Le rôle est changé ; la personne est prévenue."),
    "unchanged": N_("Rien à changer : c'était déjà le cas."),
}


def _filters(params: dict[str, str]) -> tuple[account_file.AccountFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    filters = account_file.AccountFilters(q=params.get("q", "")[:100])
    role = params.get("role", "")
    if role and role not in accounts.ROLE_LABELS:
        errors["role"] = _("Choisissez un rôle dans la liste.")
    else:
        filters.role = role
    blocked = params.get("blocked", "")
    if blocked not in account_file.BLOCKED_FILTERS:
        errors["blocked"] = _("Choisissez « bloqués », « non bloqués » ou « tous ».")
    else:
        filters.blocked = blocked
    filters.page = parse_page(params.get("page"), errors)
    return filters, errors


@router.get("/accounts")
def account_list(request: Request, session: SessionDep, user: Moderator) -> Response:
    params = dict(request.query_params)
    filters, errors = _filters(params)
    rows, has_next = (
        account_file.search_accounts(session, user, filters) if not errors else ([], False)
    )
    query: dict[str, Any] = {k: v for k, v in params.items() if k != "page" and v}
    return render(
        request,
        "moderation/accounts.html",
        {
            "rows": rows,
            "has_next": has_next,
            "filters": filters,
            "values": params,
            "errors": errors,
            "query": query,
            "roles": accounts.ROLE_LABELS,
            "show_email": can_see_emails(user),
            "section": "accounts",
        },
        status_code=400 if errors else 200,
    )


def _account_page(
    request: Request,
    session: SessionDep,
    viewer: User,
    user_id: int,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    notice_error: bool = False,
    status_code: int = 200,
) -> Response:
    detail = account_file.account_detail(session, viewer, user_id)
    return render(
        request,
        "moderation/account.html",
        {
            "detail": detail,
            "account": detail.user,
            "blocked": detail.user.is_blocked(),
            "last_blocked_day": accounts.last_blocked_day(detail.user),
            "can_act": can_moderate_account(viewer, detail.user),
            "can_change_role": can_change_role(viewer, detail.user),
            "show_email": can_see_emails(viewer),
            "roles": accounts.ROLE_LABELS,
            "need_statuses": account_file.NEED_STATUS_LABELS,
            "comment_statuses": COMMENT_STATUS_LABELS,
            "report_statuses": account_file.REPORT_STATUS_LABELS,
            "report_reasons": {reason.value: label for reason, label in REPORT_REASONS},
            "today": accounts.today_in_paris().isoformat(),
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
            "notice_error": notice_error,
            "section": "accounts",
        },
        status_code=status_code,
    )


@router.get("/accounts/{user_id}")
def account_page(request: Request, session: SessionDep, user: Moderator, user_id: int) -> Response:
    done = request.query_params.get("done", "")
    notice = _(NOTICES[done]) if done in NOTICES else None
    return _account_page(request, session, user, user_id, notice=notice)


def _done(user_id: int, what: str) -> Response:
    return RedirectResponse(f"/moderation/accounts/{user_id}?done={what}", status_code=303)


def _refused(
    request: Request,
    session: SessionDep,
    viewer: User,
    user_id: int,
    form: str,
    error: Invalid | Conflict,
    values: dict[str, str],
) -> Response:
    """The page again, nothing written: the error beside its field (422) or on top (409)."""
    session.rollback()
    if isinstance(error, Invalid):
        return _account_page(
            request,
            session,
            viewer,
            user_id,
            errors={form: error.errors},
            values=values,
            status_code=422,
        )
    return _account_page(
        request,
        session,
        viewer,
        user_id,
        values=values,
        notice=error.detail,
        notice_error=True,
        status_code=409,
    )


@router.post("/accounts/{user_id}/block")
def block(
    request: Request,
    session: SessionDep,
    user: Moderator,
    user_id: int,
    reason: FormStr = "",
    until: FormStr = "",
) -> Response:
    try:
        accounts.block_account(session, user, user_id, reason=reason, until=until)
    except (Invalid, Conflict) as exc:
        # A date field only takes a valid date back (anything else is invalid HTML).
        values = {"reason": reason, "until": until if accounts.is_iso_date(until) else ""}
        return _refused(request, session, user, user_id, "block", exc, values)
    return _done(user_id, "block")


@router.post("/accounts/{user_id}/unblock")
def unblock(
    request: Request, session: SessionDep, user: Moderator, user_id: int, note: FormStr = ""
) -> Response:
    try:
        accounts.unblock_account(session, user, user_id, note=note)
    except (Invalid, Conflict) as exc:
        return _refused(request, session, user, user_id, "unblock", exc, {"note": note})
    return _done(user_id, "unblock")


@router.post("/accounts/{user_id}/trust")
def trust(request: Request, session: SessionDep, user: Moderator, user_id: int) -> Response:
    changed = accounts.set_trust(session, user, user_id, trusted=True)
    return _done(user_id, "trust" if changed else "unchanged")


@router.post("/accounts/{user_id}/untrust")
def untrust(request: Request, session: SessionDep, user: Moderator, user_id: int) -> Response:
    changed = accounts.set_trust(session, user, user_id, trusted=False)
    return _done(user_id, "untrust" if changed else "unchanged")


@router.post("/accounts/{user_id}/role")
def role(
    request: Request,
    session: SessionDep,
    user: Moderator,
    user_id: int,
    role: FormStr = "",
    note: FormStr = "",
) -> Response:
    try:
        accounts.change_role(session, user, user_id, role, note=note)
    except (Invalid, Conflict) as exc:
        return _refused(request, session, user, user_id, "role", exc, {"role": role, "note": note})
    return _done(user_id, "role")
