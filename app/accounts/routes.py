"""Account pages: sign up, sign in, sign out, e-mail links, password reset, settings, tokens.

Every write follows bind → load → authorise → validate → execute; a validation error
re-renders the form with 422, what the person typed kept (the password excepted).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import data, links, service
from app.accounts.deps import (
    CurrentUser,
    OptionalUser,
    clear_session_cookie,
    clear_signup_cookie,
    raw_session_token,
    session_token_hash,
    set_session_cookie,
    set_signup_cookie,
    signup_address,
    signup_cookie_matches,
    signup_next,
)
from app.accounts.models import TokenPurpose, User
from app.accounts.notices import notice_for
from app.core.clock import local_today
from app.core.ratelimit import check_rate
from app.web.antiabuse import GuardData, check_guard, guard_values
from app.web.deps import SessionDep
from app.web.errors import Conflict, Invalid, TooManyRequests
from app.web.i18n import get_locale, set_locale_cookie
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.security import client_ip
from app.web.templating import render
from app.web.urls import safe_next

router = APIRouter(prefix="/account")

FormStr = Annotated[str, Form()]


def _with_notice(path: str, key: str) -> str:
    """A local path with ?notice=<key> added to its query (its fragment kept)."""
    parts = urlsplit(path)
    query = "&".join(q for q in (parts.query, f"notice={key}") if q)
    return parts._replace(query=query).geturl()


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _sign_in(request: Request, session: SessionDep, user: User, target: str) -> Response:
    # Rotate: whatever session the browser had is ended before the new one starts.
    old = raw_session_token(request)
    if old:
        service.end_session(session, old)
    raw = service.start_session(session, user, user_agent=request.headers.get("user-agent", ""))
    response = _redirect(target)
    set_session_cookie(request, response, raw)
    if user.locale:
        # The language saved in the account follows the person to every browser they use.
        set_locale_cookie(response, user.locale, secure=request.app.state.settings.is_production)
    return response


def _limit_mails(request: Request, session: SessionDep, user: User | None = None) -> None:
    """Forms that make the site send an e-mail are limited per client too, not only per
    recipient: otherwise one client could have mail sent to any number of addresses. The event
    is recorded with the request's own commit (a refused or invalid request records nothing)."""
    check_rate(
        session,
        "email",
        user_id=user.id if user else None,
        ip=client_ip(request),
        enabled=request.app.state.settings.rate_limits == "on",
    )


def _form_page(
    request: Request, template: str, ctx: dict[str, Any], error: Invalid | None = None
) -> Response:
    ctx = {
        "errors": error.errors if error else {},
        "form_error": error.detail if error else None,
        **ctx,
    }
    return render(request, template, ctx, status_code=422 if error else 200)


# --- sign up -------------------------------------------------------------------------------


@router.get("/signup")
def signup_page(request: Request, user: OptionalUser, next: str = "") -> Response:
    if user:
        return _redirect(safe_next(next, "/account"))
    guard = guard_values(request.app.state.settings)
    ctx = {"values": {}, "guard": guard, "next": safe_next(next[:500], "")}
    return _form_page(request, "accounts/signup.html", ctx)


@router.post("/signup")
def signup(
    request: Request,
    session: SessionDep,
    guard: GuardData,
    email: FormStr = "",
    display_name: FormStr = "",
    password: FormStr = "",
    next: FormStr = "",
) -> Response:
    # Any other field (a `role`, say) is simply not read: people cannot give themselves a role.
    settings = request.app.state.settings
    back_to = safe_next(next[:500], "")
    try:
        # Honeypot and fill time first: a refused form writes nothing, not even a rate event.
        # A form value serves one sign-up; the same form sent again (a double click) passes
        # once more and is told, like any known address, to look at its e-mail.
        check_guard(guard, settings, session=session, resend_of=email.strip().lower())
        for action in ("signup", "email"):
            check_rate(
                session,
                action,
                user_id=None,
                ip=client_ip(request),
                enabled=settings.rate_limits == "on",
            )
        links.signup(
            session,
            email=email,
            display_name=display_name,
            password=password,
            locale=get_locale(),
        )
    except Invalid as exc:
        values = {"email": email, "display_name": display_name}
        ctx = {"values": values, "guard": guard_values(settings), "next": back_to}
        return _form_page(request, "accounts/signup.html", ctx, exc)
    response = _redirect("/account/check-email?reason=signup")
    # The same cookies whether or not the address already had an account (no enumeration).
    set_signup_cookie(request, response, service.normalize_email(email), back_to)
    return response


# Said on the page after signing up once « Renvoyer l'e-mail » was pressed (?resent=…).
RESENT = {
    "1": N_("C'est fait : un nouveau message vient de partir."),
    "0": N_(
        "Plusieurs messages sont déjà partis il y a peu : regardez aussi dans vos courriers "
        "indésirables, ou réessayez dans un quart d'heure."
    ),
    "wait": N_("Un message vient de partir : patientez une minute avant d'en demander un autre."),
}


@router.get("/check-email")
def check_email(request: Request, reason: str = "signup", resent: str = "") -> Response:
    if reason not in {"signup", "link", "reset"}:
        reason = "signup"
    address = signup_address(request) if reason == "signup" else None
    ctx = {
        "reason": reason,
        "address": address,
        "resent": _(RESENT[resent]) if resent in RESENT and address else None,
        "next": safe_next(signup_next(request), "") if reason == "signup" else "",
    }
    return render(request, "accounts/check_email.html", ctx)


@router.post("/check-email/resend")
def resend_signup_mail(request: Request, session: SessionDep) -> Response:
    """« Renvoyer l'e-mail », for a person who signed up and is not signed in yet: the address
    is the one this browser signed up with (its cookie), never one typed here, so the button
    cannot send mail to anyone else."""
    address = signup_address(request)
    if address is None:
        # The hour is over (or cookies are off): the sign-up form sends it again.
        return _redirect("/account/signup")
    try:
        _limit_mails(request, session)
    except TooManyRequests:
        # Pressed twice in a row: said on the same page rather than on an error page.
        return _redirect("/account/check-email?reason=signup&resent=wait")
    sent = links.resend_signup_mail(session, address)
    session.commit()  # the rate event, when nothing else was written
    return _redirect(f"/account/check-email?reason=signup&resent={int(sent)}")


@router.get("/verify")
def verify_page(request: Request, session: SessionDep, token: str = "") -> Response:
    # Opening the link only shows a button: a mail scanner that follows links must neither use
    # it up nor get a session.
    links.peek_token(session, token, TokenPurpose.verify_email)
    return render(request, "accounts/verify.html", {"token": token})


@router.post("/verify/confirm")
def verify(
    request: Request, session: SessionDep, current: OptionalUser, token: FormStr = ""
) -> Response:
    """Confirms the address. A session is opened only for the browser that signed up (it holds
    the sign-up cookie): the e-mail alone, read on another device or by someone else, confirms
    the address and then asks to sign in."""
    user = links.verify_email(session, token)
    if current is not None and current.id == user.id:
        response = _redirect("/account?notice=verified")
    elif signup_cookie_matches(request, user.email):
        # Back where they were when they signed up (a need they wanted to support, say).
        back_to = safe_next(signup_next(request), "")
        target = _with_notice(back_to, "verified") if back_to else "/account?notice=verified"
        response = _sign_in(request, session, user, target)
    else:
        response = _redirect("/account/login?notice=verified_sign_in")
    clear_signup_cookie(request, response)
    return response


@router.post("/verify/resend")
def resend_verification(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    if user.email_verified_at is not None:
        return _redirect("/account")
    # Per client only: the account's own cap is the one on links (a few per quarter hour).
    _limit_mails(request, session)
    if links.resend_verification(session, user):
        return _redirect("/account?notice=verification_sent")
    return _redirect("/account?notice=verification_not_sent")


# --- sign in and out -----------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "") -> Response:
    if user:
        return _redirect(safe_next(next, "/account"))
    notice = notice_for(request)
    return _form_page(
        request,
        "accounts/login.html",
        {"values": {}, "next": safe_next(next, ""), "notice": notice},
    )


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "",
) -> Response:
    try:
        user = service.authenticate(session, email=email, password=password, ip=client_ip(request))
    except Invalid as exc:
        return _form_page(
            request,
            "accounts/login.html",
            {"values": {"email": email}, "next": safe_next(next, ""), "notice": None},
            exc,
        )
    return _sign_in(request, session, user, safe_next(next, "/"))


@router.post("/login-link")
def request_login_link(request: Request, session: SessionDep, link_email: FormStr = "") -> Response:
    # The field is `link_email` on the login page, which also has the password form's `email`
    # (two fields cannot share an id there).
    _limit_mails(request, session)
    try:
        links.request_login_link(session, link_email, get_locale())
    except Invalid as exc:
        return _form_page(
            request,
            "accounts/login.html",
            {"values": {"link_email": link_email}, "next": "", "notice": None},
            Invalid({"link_email": exc.errors.get("email", "")}, exc.detail),
        )
    return _redirect("/account/check-email?reason=link")


@router.get("/login-link")
def login_link_page(request: Request, session: SessionDep, token: str = "") -> Response:
    # The link only shows a button: mail scanners that open links must not use them up.
    links.peek_token(session, token, TokenPurpose.login_link)
    return render(request, "accounts/login_link.html", {"token": token})


@router.post("/login-link/confirm")
def login_link_confirm(request: Request, session: SessionDep, token: FormStr = "") -> Response:
    user = links.sign_in_with_link(session, token)
    return _sign_in(request, session, user, "/?notice=welcome")


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    raw = raw_session_token(request)
    if raw:
        service.end_session(session, raw)
    response = _redirect("/account/login?notice=logged_out")
    clear_session_cookie(request, response)
    return response


@router.post("/logout-everywhere")
def logout_everywhere(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    service.end_all_sessions(session, user)
    response = _redirect("/account/login?notice=logged_out_everywhere")
    clear_session_cookie(request, response)
    return response


# --- password reset --------------------------------------------------------------------------


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    return _form_page(request, "accounts/forgot.html", {"values": {}})


@router.post("/password/forgot")
def forgot(request: Request, session: SessionDep, email: FormStr = "") -> Response:
    _limit_mails(request, session)
    try:
        links.request_password_reset(session, email, get_locale())
    except Invalid as exc:
        return _form_page(request, "accounts/forgot.html", {"values": {"email": email}}, exc)
    return _redirect("/account/check-email?reason=reset")


@router.get("/password/reset")
def reset_page(request: Request, session: SessionDep, token: str = "") -> Response:
    links.peek_token(session, token, TokenPurpose.reset_password)
    return _form_page(request, "accounts/reset.html", {"token": token})


@router.post("/password/reset")
def reset(
    request: Request, session: SessionDep, token: FormStr = "", password: FormStr = ""
) -> Response:
    try:
        links.reset_password(session, token, password)
    except Invalid as exc:
        return _form_page(request, "accounts/reset.html", {"token": token}, exc)
    response = _redirect("/account/login?notice=password_reset")
    clear_session_cookie(request, response)
    return response


# --- settings --------------------------------------------------------------------------------


def _settings_page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    error: Invalid | None = None,
    new_token: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    notice = notice_for(request)
    return _form_page(
        request,
        "accounts/settings.html",
        {
            "user": user,
            "notice": notice,
            "values": values or {"display_name": user.display_name, "locale": user.locale or ""},
            "tokens": service.list_api_tokens(session, user),
            "sessions": service.active_sessions(session, user),
            "current_session_hash": session_token_hash(request),
            "new_token": new_token,
        },
        error,
    )


@router.get("")
def settings_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _settings_page(request, session, user)


@router.post("/profile")
def update_profile(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    display_name: FormStr = "",
    locale: FormStr = "",
) -> Response:
    try:
        service.update_profile(session, user, display_name=display_name, locale=locale)
    except Invalid as exc:
        session.refresh(user)
        return _settings_page(
            request,
            session,
            user,
            error=exc,
            values={"display_name": display_name, "locale": locale},
        )
    response = _redirect("/account?notice=profile_saved")
    # The saved language drives the interface too; "according to the browser" forgets it.
    set_locale_cookie(response, user.locale, secure=request.app.state.settings.is_production)
    return response


@router.post("/password")
def change_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    current_password: FormStr = "",
    new_password: FormStr = "",
) -> Response:
    try:
        service.change_password(
            session,
            user,
            current=current_password,
            new=new_password,
            keep_session_hash=session_token_hash(request),
            ip=client_ip(request),
        )
    except Invalid as exc:
        return _settings_page(request, session, user, error=exc)
    return _redirect("/account?notice=password_changed")


@router.post("/tokens")
def create_token(
    request: Request, session: SessionDep, user: CurrentUser, label: FormStr = ""
) -> Response:
    try:
        raw = service.create_api_token(session, user, label)
    except Invalid as exc:
        return _settings_page(request, session, user, error=exc)
    # Shown once, on this response only; never stored in clear nor put in a URL.
    response = _settings_page(request, session, user, new_token=raw)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(session: SessionDep, user: CurrentUser, token_id: int) -> Response:
    service.revoke_api_token(session, user, token_id)
    return _redirect("/account?notice=token_revoked")


# --- your data: download it, delete it -------------------------------------------------------


@router.get("/export")
def export_my_data(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    # Only a browser's session gets here: API tokens sign nobody in on the site's pages
    # (app.accounts.deps), so a leaked token can neither read nor erase the account.
    body = json.dumps(data.export_data(session, user), ensure_ascii=False, indent=2)
    name = data.export_filename(local_today())
    return Response(
        body.encode(),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/delete")
def delete_my_account(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    delete_password: FormStr = "",
    delete_email: FormStr = "",
    delete_confirm: FormStr = "",
) -> Response:
    try:
        data.check_deletion(
            session,
            user,
            password=delete_password,
            email=delete_email,
            confirmed=bool(delete_confirm),
            ip=client_ip(request),
        )
        data.delete_account(session, user)
    except (Invalid, Conflict) as exc:
        session.rollback()
        session.refresh(user)
        error = exc if isinstance(exc, Invalid) else Invalid({}, detail=exc.detail)
        values = {
            "display_name": user.display_name,
            "locale": user.locale or "",
            "delete_email": delete_email[:254],
        }
        return _settings_page(request, session, user, error=error, values=values)
    response = _redirect("/?notice=account_deleted")
    clear_session_cookie(request, response)
    return response
