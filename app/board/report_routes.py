"""Report pages (members): the report form for a need, a comment or an account, and the
thank-you page. `GET /report?kind=need|comment|user&id=N` shows the form; `POST /report`
stores the report and redirects to `/report/thanks` (with htmx, outside a boosted navigation,
it answers with the confirmation fragment instead).

Write path: bind → load (404 when the item is not visible) → authorise (blocked: 403, own
content: 403) → validate (422, form re-rendered) → rate limit (429) → execute.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import CurrentUser
from app.board import reports
from app.board.models import ReportTarget
from app.board.service import ensure_can_participate
from app.web.deps import SessionDep
from app.web.errors import Invalid
from app.web.i18n import gettext as _
from app.web.security import client_ip
from app.web.templating import render, wants_fragment
from app.web.urls import need_url, safe_next

router = APIRouter()

FormStr = Annotated[str, Form()]


def _back_url(subject: reports.ReportSubject) -> str:
    """Where the person came from: the need (at the comment), or the board for an account."""
    if subject.need is None:
        return "/"
    if subject.kind is ReportTarget.comment:
        return f"{need_url(subject.need)}#comment-{subject.id}"
    return need_url(subject.need)


def _reasons() -> list[tuple[str, str]]:
    return [(reason.value, _(label)) for reason, label in reports.REASONS]


def _form_page(
    request: Request,
    subject: reports.ReportSubject,
    values: dict[str, str],
    error: Invalid | None = None,
) -> Response:
    return render(
        request,
        "board/report.html",
        {
            "subject": subject,
            "reasons": _reasons(),
            "values": values,
            "errors": error.errors if error else {},
            "back_url": _back_url(subject),
            "detail_max": reports.DETAIL_MAX_LENGTH,
        },
        block="report_panel",
        status_code=422 if error else 200,
    )


def _thanks_page(
    request: Request, back_url: str, *, already: bool = False, status_code: int = 200
) -> Response:
    return render(
        request,
        "board/report_thanks.html",
        {"back_url": back_url, "already": already},
        block="confirmation",
        status_code=status_code,
    )


def _load(session: SessionDep, user: CurrentUser, kind: str, raw_id: str) -> reports.ReportSubject:
    ensure_can_participate(user)
    target_kind, target_id = reports.parse_target(kind, raw_id)
    subject = reports.load_subject(session, user, target_kind, target_id)
    reports.ensure_can_report(user, subject)
    return subject


@router.get("/report")
def report_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    kind: str = "",
    target_id: Annotated[str, Query(alias="id")] = "",
) -> Response:
    subject = _load(session, user, kind, target_id)
    if reports.has_open_report(session, user, subject):
        # No second form: the first report is still waiting for a moderator.
        return _thanks_page(request, _back_url(subject), already=True)
    return _form_page(request, subject, {"reason": "", "detail": ""})


@router.post("/report")
def report(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    kind: FormStr = "",
    target_id: Annotated[str, Form(alias="id")] = "",
    reason: FormStr = "",
    detail: FormStr = "",
) -> Response:
    subject = _load(session, user, kind, target_id)
    back_url = _back_url(subject)
    settings = request.app.state.settings
    try:
        reports.create_report(
            session,
            user,
            subject,
            reason=reason,
            detail=detail,
            ip=client_ip(request),
            rate_limits=settings.rate_limits == "on",
        )
    except reports.AlreadyReported:
        return _thanks_page(request, back_url, already=True)
    except Invalid as exc:
        return _form_page(request, subject, {"reason": reason, "detail": detail}, exc)
    if wants_fragment(request):
        return _thanks_page(request, back_url)
    return RedirectResponse("/report/thanks?" + urlencode({"back": back_url}), status_code=303)


@router.get("/report/thanks")
def report_thanks(request: Request, back: str = "") -> Response:
    return _thanks_page(request, safe_next(back, "/"))
