"""Request dependencies that know no domain: the database session and the current user hook.

The user loader itself lives in app.accounts (web/ knows no domain); create_app stores it on
app.state so that error pages can show who is signed in too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import inspect
from sqlmodel import Session


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        # Services read the settings from here (base URL in e-mails) without knowing HTTP.
        session.info["settings"] = request.app.state.settings
        # Page-wide lookups (who is signed in, the unread count) reuse this session rather
        # than taking a second pooled connection while this one is held.
        request.state.db = session
        try:
            yield session
        finally:
            request.state.db = None


@contextmanager
def request_session(request: Request) -> Iterator[Session]:
    """The route's session while it is open; a short one of its own otherwise (error pages
    rendered after the route's session has closed)."""
    current = getattr(request.state, "db", None)
    if current is not None:
        yield current
        return
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        session.info["settings"] = request.app.state.settings
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def load_user(request: Request) -> Any:
    """The signed-in user (or None), loaded once per request and cached on request.state;
    loaded again when the transaction that loaded it was rolled back since."""
    if not hasattr(request.state, "user") or _rolled_back(request.state.user):
        loader = getattr(request.app.state, "user_loader", None)
        request.state.user = loader(request) if loader else None
    return request.state.user


def _rolled_back(row: Any) -> bool:
    """A row whose session rolled back and closed (a write failed: the database locked or
    gone) has lost its attributes, and reading one raises; the error page shows who is signed
    in, so it needs the row afresh (or no one, if the database cannot give it)."""
    state = inspect(row, raiseerr=False) if row is not None else None
    return state is not None and state.detached and bool(state.expired_attributes)
