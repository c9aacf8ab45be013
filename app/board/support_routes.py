"""« Moi aussi »: support and withdraw, then say how one is concerned (members' writes).

Both routes work as plain forms (303 back to the need page, at its #soutien anchor) and with
htmx (HX-Request: the support block alone, with the new count and `aria-pressed`). Under htmx,
a refusal the person can act on (blocked account, rate limit, invalid answer) comes back as the
same block with the message and the error status, since htmx is configured to swap 403/422/429;
without htmx it is the usual error page.

Each write follows bind → load → authorise → validate → execute. Forms send the wanted state
(`action=add|remove`), not "toggle", so a double submission or two open tabs never undo what
the person meant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import OptionalUser
from app.accounts.models import User
from app.accounts.service import blocked_message
from app.board import supports
from app.board.events import SupportGiven
from app.board.models import Need
from app.board.permissions import can_participate
from app.board.queries import get_visible_need
from app.board.service import unconfirmed_message
from app.core import events
from app.core.ratelimit import check_rate
from app.web.deps import SessionDep
from app.web.errors import AppError, Forbidden, Invalid
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.security import client_ip
from app.web.templating import FRAGMENT_VARY, is_htmx, render, wants_fragment
from app.web.urls import need_url

router = APIRouter()

FormStr = Annotated[str, Form()]
ACTIONS = {"add": True, "remove": False, "": None}


def _need_page(need: Need) -> str:
    return f"{need_url(need)}#soutien"


def _to_login(request: Request, need_id: int) -> Response:
    target = f"/account/login?next=/needs/{need_id}"
    if is_htmx(request):
        # A redirect would be followed by the XHR and the login page swapped into the block:
        # ask htmx for a real navigation instead.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _blocked(user: User) -> Forbidden:
    if not user.is_blocked():
        return Forbidden(unconfirmed_message())
    return Forbidden(blocked_message(user))


def _authorise(request: Request, session: SessionDep, user: User) -> None:
    """A blocked account is refused with its reason; then the rate limit (its event is
    committed with the write)."""
    if not can_participate(user):
        raise _blocked(user)
    check_rate(
        session,
        "support",
        user_id=user.id,
        ip=client_ip(request),
        enabled=request.app.state.settings.rate_limits == "on",
    )


def _block(
    request: Request,
    session: SessionDep,
    need: Need,
    user: User,
    error: AppError | None = None,
    *,
    given_now: bool | None = None,
) -> Response:
    """The support block (htmx) or the way back to the need page (plain form). After an
    error, nothing of the request is kept (the rate event included). `given_now`: see
    supports.support_context()."""
    if not wants_fragment(request):
        if error is not None:
            # No rollback here: it would expire the signed-in user, whom the error page shows
            # after this session is closed. Closing the session discards the pending writes.
            raise error
        return RedirectResponse(_need_page(need), status_code=303)
    if error is not None:
        session.rollback()  # discards the rate event; need and user reload just below
    context = {"need": need, "error": error.detail if error else None}
    context.update(supports.support_context(session, need, user, given_now=given_now))
    # End the read transaction before rendering, so this request holds no pooled connection
    # while the page context opens its own session (the header's unread count): under many
    # simultaneous requests, holding one while waiting for another exhausts the pool.
    session.commit()
    headers = {"Vary": FRAGMENT_VARY, **(error.headers if error else {})}
    status = error.status_code if error else 200
    return render(request, "board/_support.html", context, status_code=status, headers=headers)


def _parse_territory(raw: str) -> int | None:
    if not raw.strip():
        return None
    value = parse_id(raw)
    if value is None:
        message = _("Ce territoire n'existe pas ou n'est plus proposé.")
        raise Invalid({"territory": message}, detail=message)
    return value


@router.post("/needs/{need_id}/support")
def support_need(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    need_id: int,
    action: FormStr = "",
) -> Response:
    """Supports (`action=add`) or withdraws (`action=remove`); without `action`, flips."""
    if user is None:
        return _to_login(request, need_id)
    need = get_visible_need(session, need_id)
    try:
        if action not in ACTIONS:
            message = _("Action inconnue : utilisez le bouton « Moi aussi ».")
            raise Invalid({"action": message}, detail=message)
        _authorise(request, session, user)
        want = ACTIONS[action]
        if want is None:
            want = supports.get_support(session, need, user) is None
        # What the block shows is known without reading the support again, but for a
        # support that was already there (it may carry an answer).
        given_now: bool | None = False
        if want:
            # Only a support newly added is credited to the partner the person came from.
            if supports.add_support(session, need, user, commit=False):
                events.announce(session, SupportGiven(need, request))
                given_now = True
            else:
                given_now = None
            session.commit()
        else:
            supports.remove_support(session, need, user)
    except AppError as error:
        return _block(request, session, need, user, error)
    return _block(request, session, need, user, given_now=given_now)


@router.post("/needs/{need_id}/support/concern")
def support_concern(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    need_id: int,
    concern: FormStr = "",
    territory: FormStr = "",
) -> Response:
    """How the supporter is concerned (one click), and optionally their territory."""
    if user is None:
        return _to_login(request, need_id)
    need = get_visible_need(session, need_id)
    try:
        _authorise(request, session, user)
        supports.set_concern(session, need, user, concern.strip(), _parse_territory(territory))
    except AppError as error:
        return _block(request, session, need, user, error)
    return _block(request, session, need, user)
