"""« Mes contributions » (`/account/contributions`, issue 17 item 5): the signed-in person's
needs, comments, supports, follows and carrier applications (app/pipeline/contributions.py).
Anonymous visitors are sent to the login page, like every page under /account.

`?section=needs|comments|supports|follows|applications&page=N` pages through one list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentUser
from app.pipeline import contributions
from app.web.deps import SessionDep
from app.web.templating import render

router = APIRouter(prefix="/account")


@router.get("/contributions")
def contributions_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    section, page, errors = contributions.parse_view(dict(request.query_params))
    if section:
        sections = [contributions.one_section(session, user, section, page)]
    else:
        sections = contributions.overview(session, user)
    return render(
        request,
        "accounts/contributions.html",
        {
            "sections": sections,
            "section": section,
            "errors": errors,
            # Themes, territories and ideas followed, shown with the followed needs.
            "topics": contributions.followed_topics(session, user)
            if section in ("", "follows")
            else [],
        },
        status_code=400 if errors else 200,
    )
