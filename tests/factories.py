"""Plain factory functions with defaults, and helpers to act as a signed-in browser."""

from __future__ import annotations

import itertools
import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from itsdangerous import Signer
from sqlmodel import Session

from app.accounts import service
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import Role, User
from app.web.security import CSRF_COOKIE, csrf_token_for

DEFAULT_PASSWORD = "un-mot-de-passe-solide"
_counter = itertools.count(1)


def make_user(
    session: Session,
    *,
    email: str | None = None,
    role: str | Role = Role.resident,
    display_name: str | None = None,
    password: str | None = DEFAULT_PASSWORD,
    verified: bool = True,
) -> User:
    n = next(_counter)
    return service.create_user(
        session,
        email or f"personne{n}@exemple.fr",
        display_name=display_name or f"Personne {n}",
        password=password,
        role=Role(role),
        verified=verified,
    )


def login_as(client: TestClient, user: User, session: Session) -> None:
    """Signs the test browser in as `user` without going through the form."""
    raw = service.start_session(session, user)
    secret = client.app.state.settings.signing_key  # type: ignore[attr-defined]
    client.cookies.set(SESSION_COOKIE, Signer(secret, salt="bourse.session").sign(raw).decode())


def csrf_token(client: TestClient) -> str:
    """The form token for this browser (visiting a page first if it has no CSRF cookie)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/account/login")
    secret = client.app.state.settings.signing_key  # type: ignore[attr-defined]
    return csrf_token_for(secret, client.cookies[CSRF_COOKIE])


def guard_fields(client: TestClient, seconds_ago: float = 10) -> dict[str, str]:
    """The anti-abuse fields of a form rendered `seconds_ago` (default: long enough to pass
    the minimum fill time), with the honeypot left empty, as a person's browser sends them."""
    from datetime import timedelta

    from app.core.db import utcnow
    from app.web.antiabuse import HONEYPOT_FIELD, STARTED_FIELD, sign_form_start

    settings = client.app.state.settings  # type: ignore[attr-defined]
    started = sign_form_start(settings, utcnow() - timedelta(seconds=seconds_ago))
    return {STARTED_FIELD: started, HONEYPOT_FIELD: ""}


def post_form(
    client: TestClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> Response:
    """Posts a form as a browser would: with its CSRF token and the anti-abuse fields of a form
    filled by a person (`data` may override them), without following redirects."""
    payload = {"csrf_token": csrf_token(client), **guard_fields(client), **(data or {})}
    kwargs.setdefault("follow_redirects", False)
    return client.post(url, data=payload, **kwargs)


def read_form(
    html: str, action: str, press: str | None = None
) -> tuple[str, dict[str, str], set[str]]:
    """The form whose action is `action`, as a browser sees it: its method, the values it would
    send untouched (hidden inputs, pre-filled fields, checked boxes, the selected options) and
    the names of all its fields. The button sent is the one named `press` (`name` or
    `name=value`), otherwise the form's first submit button (the one Enter presses)."""
    from selectolax.lexbor import LexborHTMLParser

    def _path(url: str) -> str:  # what a browser sends: no query here, never the fragment
        return url.split("#")[0].split("?")[0]

    forms = [
        f
        for f in LexborHTMLParser(html).css("form")
        if _path(f.attributes.get("action") or "") == _path(action)
    ]
    assert forms, f"no form posting to {action!r} on this page"
    assert len(forms) == 1, f"{len(forms)} forms post to {action!r}: name the page more narrowly"
    form = forms[0]
    values: dict[str, str] = {}
    names: set[str] = set()
    buttons: list[tuple[str, str]] = []
    for node in form.css("input, textarea, select, button"):
        name = node.attributes.get("name") or ""
        kind = (node.attributes.get("type") or ("submit" if node.tag == "button" else "")).lower()
        if "disabled" in node.attributes:
            continue
        if kind in {"submit", "image"}:
            buttons.append((name, node.attributes.get("value") or ""))
            if name:
                names.add(name)
            continue
        if not name:
            continue
        names.add(name)
        if kind in {"button", "reset"}:
            continue
        if node.tag == "textarea":
            values[name] = node.text()
        elif node.tag == "select":
            chosen = node.css_first("option[selected]") or node.css_first("option")
            if chosen is not None:
                value = chosen.attributes.get("value")
                values[name] = value if value is not None else chosen.text(strip=True)
        elif kind in {"checkbox", "radio"}:
            if "checked" in node.attributes:
                values[name] = node.attributes.get("value") or "on"
        else:
            values[name] = node.attributes.get("value") or ""
    if press is not None:
        wanted = [b for b in buttons if press in (b[0], f"{b[0]}={b[1]}")]
        assert wanted, f"the form posting to {action} has no button {press!r}"
        pressed: tuple[str, str] | None = wanted[0]
    else:
        pressed = buttons[0] if buttons else None
    if pressed is not None and pressed[0]:
        values[pressed[0]] = pressed[1]
    method = (form.attributes.get("method") or "get").lower()
    return method, values, names


def submit_form(
    client: TestClient,
    page: str,
    action: str,
    fill: dict[str, str] | None = None,
    *,
    html: str | None = None,
    press: str | None = None,
    **kwargs: Any,
) -> Response:
    """Fills and sends a form the way a person does: renders `page` (or takes its `html`),
    finds the form posting to `action`, fails if a field in `fill` is not one of the form's
    own, and posts the form's values with `fill` on top. The one liberty: the anti-abuse fill
    timestamp is dated ten seconds back, as if the person had taken that long to type."""
    from app.web.antiabuse import STARTED_FIELD

    if html is None:
        rendered = client.get(page)
        assert rendered.status_code == 200, f"{page} answered {rendered.status_code}"
        html = rendered.text
    method, values, names = read_form(html, action, press)
    unknown = set(fill or {}) - names
    assert not unknown, f"the form posting to {action} has no field named {sorted(unknown)}"
    values.update(fill or {})
    if STARTED_FIELD in values:
        values[STARTED_FIELD] = guard_fields(client)[STARTED_FIELD]
    kwargs.setdefault("follow_redirects", False)
    if method == "get":
        return client.get(action, params=values, **kwargs)
    return client.post(action, data=values, **kwargs)


def form_errors(html: str) -> list[str]:
    from selectolax.lexbor import LexborHTMLParser

    return [node.text(strip=True) for node in LexborHTMLParser(html).css(".error-message")]


def page_text(html: str, selector: str = "main") -> str:
    from selectolax.lexbor import LexborHTMLParser

    node = LexborHTMLParser(html).css_first(selector)
    return node.text(separator=" ", strip=True) if node else ""


def extract(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found"
    return match.group(1)


def make_need(
    session: Session,
    *,
    author: User | None = None,
    title: str | None = None,
    body: str = "Un besoin décrit en quelques mots, pour les tests.",
    status: str = "published",
    theme_id: int | None = None,
    territory_id: int | None = None,
    created_at: Any = None,
) -> Any:
    """A need inserted directly (no auto-support, counts at 0): for tests of other parts."""
    from app.board.models import Need
    from app.core.db import utcnow
    from app.core.text import excerpt, render_markdown, slugify

    n = next(_counter)
    title = title or f"Besoin numéro {n} pour les tests"
    author = author or make_user(session)
    when = created_at or utcnow()
    need = Need(
        author_id=author.id,
        title=title,
        slug=slugify(title),
        body=body,
        body_html=render_markdown(body),
        excerpt=excerpt(body),
        status=status,
        theme_id=theme_id,
        territory_id=territory_id,
        created_at=when,
        updated_at=when,
    )
    session.add(need)
    session.commit()
    session.refresh(need)
    return need


def make_theme(session: Session, slug: str = "mobilite", name: str = "Mobilité") -> Any:
    from app.board.models import Theme

    theme = Theme(slug=slug, name=name, name_en=name)
    session.add(theme)
    session.commit()
    session.refresh(theme)
    return theme


def make_territory(session: Session, slug: str = "merignac", name: str = "Mérignac") -> Any:
    from app.board.models import Territory

    territory = Territory(slug=slug, name=name, name_en=name)
    session.add(territory)
    session.commit()
    session.refresh(territory)
    return territory


def fresh(session: Session) -> Session:
    """The test's session, with what other sessions (the app's requests) wrote made visible."""
    session.rollback()
    session.expire_all()
    return session


def make_idea(
    session: Session,
    title: str = "Une conciergerie d'insertion",
    *,
    actor: User | None = None,
    stage: str = "detected",
    is_public: bool = False,
    summary: str = "",
    origin: str = "fabrique",
    theme_id: int | None = None,
    territory_id: int | None = None,
    needs: Any = (),
    changed_at: Any = None,
    commit: bool = True,
    **fields: Any,
) -> Any:
    """An idea, private, at `detected`, without summary and detected by the fabrique (an origin
    valid with or without needs) unless told otherwise — as the app itself starts one. Two ways:

    - with an `actor` (a staff user), through `pipeline.service.create_idea` as the team does:
      audited, with its first stage change, its needs linked (their origin is then set to
      « resident » by the service) and its events announced (webhooks, notices) when public;
      `stage` and the other `fields` (stage data, …) are then written over it directly, without
      the moves and history a real change of stage would make;
    - without one, as a bare row (no history, no audit, no event), for tests of what is read:
      `changed_at` (default now) dates its creation, update and last stage change.

    `commit=False` leaves the idea flushed in the open transaction (tests of rollbacks)."""
    from app.core.db import utcnow
    from app.core.text import render_markdown, slugify
    from app.pipeline import service
    from app.pipeline.models import Idea, IdeaNeed

    need_ids = [need.id for need in needs]
    if actor is not None:
        assert changed_at is None, "the service dates what it creates: changed_at is for rows"
        data = service.IdeaInput(
            title=title,
            summary=summary,
            theme_id=theme_id,
            territory_id=territory_id,
            origin=origin,
            is_public=is_public,
        )
        idea = service.create_idea(session, actor, data, need_ids=need_ids, commit=commit)
        if stage != idea.stage or fields:
            idea.stage = stage
            for key, value in fields.items():
                setattr(idea, key, value)
            session.add(idea)
            if commit:
                session.commit()
        return idea
    when = changed_at or utcnow()
    idea = Idea(
        title=title,
        slug=slugify(title),
        summary=summary,
        summary_html=render_markdown(summary),
        stage=stage,
        is_public=is_public,
        origin=origin,
        theme_id=theme_id,
        territory_id=territory_id,
        created_at=when,
        updated_at=when,
        stage_changed_at=when,
        **fields,
    )
    session.add(idea)
    session.flush()
    for need_id in need_ids:
        session.add(IdeaNeed(idea_id=idea.id, need_id=need_id))
    if commit:
        session.commit()
        session.refresh(idea)
    return idea
