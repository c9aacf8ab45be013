"""Public board pages. The board itself arrives with the board issue; for now the home page
introduces the site and lists the themes and territories needs will be filed under."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import select

from app.accounts.deps import OptionalUser
from app.accounts.routes import notice_for
from app.board.models import Territory, Theme
from app.web.deps import SessionDep
from app.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    themes = session.exec(
        select(Theme).where(Theme.archived_at.is_(None)).order_by(Theme.position, Theme.name)  # type: ignore[union-attr]
    ).all()
    territories = session.exec(
        select(Territory)
        .where(Territory.archived_at.is_(None))  # type: ignore[union-attr]
        .order_by(Territory.position, Territory.name)
    ).all()
    return render(
        request,
        "board/home.html",
        {"themes": themes, "territories": territories, "notice": notice_for(request)},
    )
