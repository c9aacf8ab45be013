"""The moderation area (/moderation/), for moderators and above, with its own navigation.

Here: the dashboard (what waits), the queue (pending and reported items) with the decisions on
needs, comments and reports (one by one or on a selection), and the audit log (admins; staff
read-only — nobody can edit it: the log has no write route at all).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import Session

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.board.models import MODERATION_REASONS
from app.core import audit
from app.moderation import decisions, identity, queue, report_decisions, service
from app.moderation.bulk import BulkTarget, bulk_decide
from app.web import personal, personal_path
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.params import parse_id, parse_page
from app.web.site_identity import read_identity
from app.web.templating import FRAGMENT_VARY, render, wants_fragment
from app.web.urls import safe_next, split_url

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.moderator))])
Staff = Annotated[User, Depends(require_role(Role.staff))]
Moderator = Annotated[User, Depends(require_role(Role.moderator))]
FormStr = Annotated[str, Form()]


# Rendered once per role and content version, every count included (reports bump the version
# too: migration 0010), and answered before routing (app/web/personal_path.py).
personal_path.register(
    personal_path.FastPage(
        "moderation",
        re.compile(r"/moderation/"),
        roles=frozenset({Role.moderator, Role.staff, Role.admin}),
    )
)


@router.get("/")
def dashboard(request: Request, session: SessionDep, user: Moderator) -> Response:
    # Before any read: on PostgreSQL the version must not be newer than the counts it shows.
    shared = personal.shared_page(request, session, user, "moderation")
    if shared is not None:
        entry = shared.lookup()
        if entry is None:
            entry = shared.render("moderation/index.html", _dashboard(session, user))
        if entry is not None:
            return shared.answer(entry)
    return render(request, "moderation/index.html", _dashboard(session, user))


def _dashboard(session: Session, user: User) -> dict[str, Any]:
    # The page is shared by everyone of the same role: what it shows depends on the role only.
    # Admins also see what the law requires and the site's identity does not give yet.
    legal_missing = (
        identity.missing_legal(read_identity(session)) if user.role == Role.admin else []
    )
    return {"counts": queue.counts(session), "section": "dashboard", "legal_missing": legal_missing}


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
    filters.page = parse_page(params.get("page"), errors)
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


# --- the queue and the decisions -------------------------------------------------------------
#
# Each decision form works as a plain POST (303 back to the queue, or to the public page it came
# from) and with htmx: the answer then replaces the item in the list (moderation.js moves the
# focus to the next one). Errors: 422 with the message next to the field, 409 « déjà traité par
# X », 404 for an unknown item.

ITEM_KINDS = {"need": "need", "comment": "comment", "account": "user"}
BULK_FAILURES = {
    "invalid": N_("cette décision ne s'applique pas à cet élément"),
    "notfound": N_("cet élément n'existe plus"),
    "forbidden": N_("vous ne pouvez pas prendre cette décision"),
}


def _filters(params: Mapping[str, str]) -> tuple[queue.QueueFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    filters = queue.QueueFilters()
    kind = params.get("kind", "")
    if kind and kind not in queue.KINDS:
        errors["kind"] = _("Type inconnu : choisissez besoins, commentaires ou comptes.")
    else:
        filters.kind = kind
    reason = params.get("reason", "")
    if reason and reason not in queue.REPORT_REASONS:
        errors["reason"] = _("Motif de signalement inconnu : choisissez-en un dans la liste.")
    else:
        filters.reason = reason
    filters.page = parse_page(params.get("page"), errors)
    return filters, errors


def _back_query(back: str) -> str:
    """The queue's filters the moderator came from (only known, valid values)."""
    filters, _errors = _filters({k: v[0] for k, v in parse_qs(back or "").items() if v})
    query = {
        "kind": filters.kind,
        "reason": filters.reason,
        "page": str(filters.page) if filters.page > 1 else "",
    }
    return urlencode({k: v for k, v in query.items() if v})


def _queue_url(back: str, extra: dict[str, Any] | None = None) -> str:
    query = _back_query(back)
    more = urlencode(extra or {}, doseq=True)
    joined = "&".join(q for q in (query, more) if q)
    return "/moderation/queue" + (f"?{joined}" if joined else "")


def _bulk_summary(session: SessionDep, params: Any) -> dict[str, Any] | None:
    if not params.get("bulk"):
        return None
    done = parse_id(params.get("bulk_done", "")) or 0
    failures = []
    for raw in params.getlist("failed")[:200]:
        key, _sep, code = raw.partition(":")
        kind, _dash, raw_id = key.partition("-")
        item_id = parse_id(raw_id)
        if kind not in ("need", "comment", "user") or item_id is None:
            continue
        if code == "conflict":
            reason = _("déjà traité par %(who)s", who=decisions.last_actor(session, kind, item_id))
        else:
            reason = _(BULK_FAILURES.get(code, BULK_FAILURES["invalid"]))
        failures.append({"kind": kind, "id": item_id, "reason": reason})
    return {"done": done, "failed": failures}


def _queue_page(
    request: Request,
    session: SessionDep,
    *,
    params: Mapping[str, str] | None = None,
    item_errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    bulk_errors: dict[str, str] | None = None,
    bulk_values: dict[str, Any] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    params = request.query_params if params is None else params
    filters, errors = _filters(params)
    page = queue.queue_page(session, filters) if not errors else None
    # A refused decision on an item this page does not show (another page or filter): its
    # messages go at the top rather than nowhere.
    shown = {item.key for item in page.items} if page else set()
    other_errors = [
        message
        for key, messages in (item_errors or {}).items()
        if key not in shown
        for message in messages.values()
    ]
    back = _back_query(urlencode({k: params.get(k, "") for k in ("kind", "reason", "page")}))
    return render(
        request,
        "moderation/queue.html",
        {
            "page": page,
            "filters": filters,
            "filter_errors": errors,
            "other_errors": other_errors,
            "reasons": MODERATION_REASONS,
            "report_reasons": queue.REPORT_REASON_LABELS,
            "kinds": queue.KIND_LABELS,
            "item_errors": item_errors or {},
            "values": values or {},
            "bulk_errors": bulk_errors or {},
            "bulk_values": bulk_values or {},
            "bulk_summary": _bulk_summary(session, request.query_params),
            "back": back,
            "notice": notice,
            "section": "queue",
        },
        status_code=400 if errors else status_code,
    )


@router.get("/queue")
def queue_view(request: Request, session: SessionDep, user: Moderator) -> Response:
    if request.headers.get("HX-Boosted"):
        # The shortcuts (static/js/moderation.js) load with the page's <head>, which a boosted
        # navigation does not bring: ask htmx for a full page load instead.
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Response(status_code=204, headers={"HX-Redirect": target})
    notice = (
        _("Décision enregistrée ; l'auteur·e est prévenu·e.")
        if request.query_params.get("done")
        else None
    )
    return _queue_page(request, session, notice=notice)


def _item_fragment(
    request: Request,
    session: SessionDep,
    kind: str,
    item_id: int,
    *,
    message: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The htmx answer: the item as it now stands in the queue (with the errors of a refused
    form), or a line saying it is done when nothing about it waits any more."""
    item = None if status_code == 409 else queue.load_item(session, kind, item_id)
    if item is None and errors:  # refused on an item the queue does not hold: say why anyway
        message = " ".join(errors.values())
    back = request.headers.get("HX-Current-URL", "")
    parts = split_url(back) if back else None
    back = parts.query if parts else ""
    # The counter above the list follows the decision (an out-of-band swap in the fragment).
    filters, _errors = _filters({k: v[0] for k, v in parse_qs(back).items() if v})
    total = queue.queue_total(session, filters)
    response = render(
        request,
        "moderation/_queue_fragment.html",
        {
            "item": item,
            "kind": kind,
            "item_id": item_id,
            "message": message,
            "conflict": status_code != 200,
            "item_errors": {f"{kind}-{item_id}": errors} if errors else {},
            "values": {f"{kind}-{item_id}": values} if values else {},
            "reasons": MODERATION_REASONS,
            "report_reasons": queue.REPORT_REASON_LABELS,
            "back": _back_query(back),
            "total": total,
            "page_number": filters.page,
            "pages": max(1, -(-total // queue.PER_PAGE)),
        },
        status_code=status_code,
    )
    response.headers["Vary"] = FRAGMENT_VARY
    return response


def _answer(
    request: Request,
    session: SessionDep,
    kind: str,
    item_id: int,
    action: Callable[[], str],
    *,
    values: dict[str, str],
    next_page: str = "",
    back: str = "",
    anchor: str = "",
) -> Response:
    """Runs a decision and answers as the form expects (page, fragment or redirect)."""
    key = f"{kind}-{item_id}"
    try:
        done = action()
    except Invalid as exc:
        if next_page:  # acting from the public page: say what is missing there, in a plain page
            raise Invalid(exc.errors, detail=" ".join(exc.errors.values())) from None
        if wants_fragment(request):
            return _item_fragment(
                request, session, kind, item_id, errors=exc.errors, values=values, status_code=422
            )
        return _queue_page(
            request,
            session,
            params=dict(parse_qsl(_back_query(back))),
            item_errors={key: exc.errors},
            values={key: values},
            status_code=422,
        )
    except Conflict as exc:
        if next_page:
            raise
        if wants_fragment(request):
            return _item_fragment(
                request, session, kind, item_id, message=exc.detail or "", status_code=409
            )
        return _queue_page(
            request,
            session,
            params=dict(parse_qsl(_back_query(back))),
            notice=exc.detail,
            status_code=409,
        )
    target = safe_next(next_page, "")
    if target:
        return RedirectResponse(f"{target}?notice=moderated{anchor}", status_code=303)
    if wants_fragment(request):
        return _item_fragment(request, session, kind, item_id, message=done)
    return RedirectResponse(_queue_url(back, {"done": 1}), status_code=303)


NEED_DONE = {
    "approve": N_("Besoin validé : il est public."),
    "trust": N_("Besoin validé ; son auteur·e publiera désormais sans relecture."),
    "reject": N_("Besoin refusé ; l'auteur·e sait pourquoi."),
    "reject_block": N_("Besoin refusé, auteur·e bloqué·e et ses contributions masquées."),
    "hide": N_("Besoin masqué ; l'auteur·e sait pourquoi."),
    "restore": N_("Besoin rétabli."),
    "covered": N_("Besoin classé « déjà couvert » ; l'auteur·e connaît le service."),
}
COMMENT_DONE = {
    "approve": N_("Commentaire validé : il est public."),
    "reject": N_("Commentaire refusé ; l'auteur·e sait pourquoi."),
    "reject_block": N_("Commentaire masqué, auteur·e bloqué·e et ses contributions masquées."),
    "hide": N_("Commentaire masqué ; l'auteur·e sait pourquoi."),
    "restore": N_("Commentaire rétabli."),
}


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
    covered_name: FormStr = "",
    covered_url: FormStr = "",
    covered_note: FormStr = "",
    confirm_block: FormStr = "",
    next: FormStr = "",
    back: FormStr = "",
) -> Response:
    def act() -> str:
        service.decide(
            session,
            user,
            "need",
            need_id,
            decision,
            seen_status=seen_status,
            reason=reason,
            detail=detail,
            covered_name=covered_name,
            covered_url=covered_url,
            covered_note=covered_note,
            confirmed_block=confirm_block == "1",
        )
        return _(NEED_DONE[decision])

    values = {
        "decision": decision,
        "reason": reason,
        "detail": detail,
        "covered_name": covered_name,
        "covered_url": covered_url,
        "covered_note": covered_note,
    }
    return _answer(request, session, "need", need_id, act, values=values, next_page=next, back=back)


@router.post("/comments/{comment_id}/decision")
def decide_comment(
    request: Request,
    session: SessionDep,
    user: Moderator,
    comment_id: int,
    decision: FormStr = "",
    seen_status: FormStr = "",
    reason: FormStr = "",
    detail: FormStr = "",
    confirm_block: FormStr = "",
    next: FormStr = "",
    back: FormStr = "",
) -> Response:
    def act() -> str:
        service.decide(
            session,
            user,
            "comment",
            comment_id,
            decision,
            seen_status=seen_status,
            reason=reason,
            detail=detail,
            confirmed_block=confirm_block == "1",
        )
        return _(COMMENT_DONE[decision])

    values = {"decision": decision, "reason": reason, "detail": detail}
    return _answer(
        request,
        session,
        "comment",
        comment_id,
        act,
        values=values,
        next_page=next,
        back=back,
        anchor=f"#comment-{comment_id}",
    )


@router.post("/reports/{target_kind}/{target_id}/dismiss")
def dismiss(
    request: Request,
    session: SessionDep,
    user: Moderator,
    target_kind: str,
    target_id: int,
    seen_report: FormStr = "",
    back: FormStr = "",
) -> Response:
    kind = ITEM_KINDS.get(target_kind)
    if kind is None:
        raise NotFound()

    def act() -> str:
        result = report_decisions.dismiss_reports(
            session, user, kind, target_id, seen_report_id=parse_id(seen_report)
        )
        if result.restored:
            return _("Signalements classés ; le contenu masqué automatiquement est rétabli.")
        return _("Signalements classés sans suite.")

    return _answer(request, session, kind, target_id, act, values={}, back=back)


def _bulk_target(raw: str) -> BulkTarget | None:
    parts = raw.split(":")
    if len(parts) != 4 or parts[0] not in ("need", "comment", "user"):
        return None
    item_id = parse_id(parts[1])
    if item_id is None:
        return None
    return BulkTarget(parts[0], item_id, parts[2][:12], parse_id(parts[3]))


@router.post("/queue/bulk")
async def bulk(request: Request, session: SessionDep, user: Moderator) -> Response:
    form = await request.form()
    action = str(form.get("action", ""))
    reason = str(form.get("reason", ""))
    detail = str(form.get("detail", ""))
    back = str(form.get("back", ""))
    raw_items = [str(v) for v in form.getlist("items")][:200]
    targets = [t for t in (_bulk_target(r) for r in raw_items) if t is not None]
    unreadable = len(raw_items) - len(targets)
    try:
        result = bulk_decide(session, user, action, targets, reason=reason, detail=detail)
    except Invalid as exc:
        if unreadable and "items" in exc.errors:
            exc.errors["items"] = _("La sélection est illisible : rechargez la file.")
        return _queue_page(
            request,
            session,
            params=dict(parse_qsl(_back_query(back))),
            bulk_errors=exc.errors,
            bulk_values={"action": action, "reason": reason, "detail": detail},
            status_code=422,
        )
    extra: dict[str, Any] = {
        "bulk": 1,
        "bulk_done": len(result.done),
        "failed": [f"{key}:{code}" for key, code in result.failed],
    }
    return RedirectResponse(_queue_url(back, extra), status_code=303)
