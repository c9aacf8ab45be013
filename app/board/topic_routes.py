"""Following a theme or a territory (issue 17, item 5): its small page (/follow/theme/{id},
also loaded by htmx into the board when the board is filtered by it) and the POST forms that
follow and unfollow. Without JavaScript a form answers with a redirect to that page; with htmx,
with the box alone. The board's own page is shared by everyone (app/web/personal.py), so it
shows only the link to this box, never who follows what."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.deps import OptionalUser
from app.accounts.models import User
from app.board import topic_follows
from app.board.models import TopicKind
from app.web.deps import SessionDep
from app.web.errors import AppError, NotFound
from app.web.i18n import gettext as _
from app.web.params import parse_id
from app.web.security import client_ip
from app.web.templating import render, wants_fragment

router = APIRouter()

KINDS = (TopicKind.theme.value, TopicKind.territory.value)


def _target(session: SessionDep, kind: str, raw_id: str) -> Any:
    target_id = parse_id(raw_id)
    if kind not in KINDS:
        raise NotFound(_("On ne peut suivre qu'un thème, un territoire ou une idée."))
    if target_id is None:
        raise NotFound(
            _("Ce thème n'existe pas ou n'est plus proposé.")
            if kind == "theme"
            else _("Ce territoire n'existe pas ou n'est plus proposé.")
        )
    return topic_follows.load_category(session, kind, target_id)


def _page(
    request: Request,
    session: SessionDep,
    user: User | None,
    kind: str,
    target: Any,
    error: AppError | None = None,
) -> Response:
    return render(
        request,
        "board/topic_follow.html",
        {
            "kind": kind,
            "target": target,
            "following": topic_follows.is_following_topic(session, user, kind, target.id),
            "follow_error": error.detail if error else None,
        },
        block="box",
        status_code=error.status_code if error else 200,
        headers=error.headers if error else None,
    )


@router.get("/follow/{kind}/{target_id}")
def topic_page(
    request: Request, session: SessionDep, user: OptionalUser, kind: str, target_id: str
) -> Response:
    return _page(request, session, user, kind, _target(session, kind, target_id))


def _set(
    request: Request,
    session: SessionDep,
    user: User | None,
    kind: str,
    target_id: str,
    wanted: bool,
) -> Response:
    target = _target(session, kind, target_id)
    here = f"/follow/{kind}/{target.id}"
    if user is None:
        url = f"/account/login?next={quote(here)}"
        if wants_fragment(request):
            return Response(status_code=200, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    try:
        if wanted:
            topic_follows.follow_topic(
                session,
                user,
                kind,
                target.id,
                ip=client_ip(request),
                settings=request.app.state.settings,
            )
        else:
            topic_follows.unfollow_topic(session, user, kind, target.id)
    except AppError as exc:
        if not wants_fragment(request):
            raise
        return _page(request, session, user, kind, target, exc)
    if not wants_fragment(request):
        return RedirectResponse(here, status_code=303)
    return _page(request, session, user, kind, target)


@router.post("/follow/{kind}/{target_id}")
def follow_topic(
    request: Request, session: SessionDep, user: OptionalUser, kind: str, target_id: str
) -> Response:
    return _set(request, session, user, kind, target_id, True)


@router.post("/unfollow/{kind}/{target_id}")
def unfollow_topic(
    request: Request, session: SessionDep, user: OptionalUser, kind: str, target_id: str
) -> Response:
    return _set(request, session, user, kind, target_id, False)
