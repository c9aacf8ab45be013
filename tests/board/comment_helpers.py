"""Helpers shared by the comment, follow and notification tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import event, func
from sqlmodel import Session, select

from app.accounts.models import User
from app.board import comments
from app.board.models import Comment, Need
from app.core.db import utcnow
from tests.factories import fresh, post_form

HTMX = {"HX-Request": "true"}


def count(session: Session, model: type, *where: Any) -> int:
    return fresh(session).exec(select(func.count()).select_from(model).where(*where)).one()


def reload_need(session: Session, need: Need) -> Need:
    found = fresh(session).get(Need, need.id)
    assert found is not None
    return found


def comments_of(session: Session, need: Need) -> list[Comment]:
    return list(
        fresh(session).exec(select(Comment).where(Comment.need_id == need.id).order_by(Comment.id))
    )


def add_comment(
    session: Session,
    need: Need,
    author: User,
    body: str = "Un commentaire de test.",
    parent: Comment | None = None,
    **kwargs: Any,
) -> Comment:
    """Through the service, as the route does (rate limits off: tests post many at once)."""
    settings = session.info["settings"].model_copy(update={"rate_limits": "off"})
    return comments.post_comment(
        session,
        need,
        author,
        body,
        parent_id=parent.id if parent else None,
        settings=settings,
        **kwargs,
    )


def age_comment(session: Session, comment: Comment, minutes: int) -> None:
    row = fresh(session).get(Comment, comment.id)
    assert row is not None
    row.created_at = utcnow() - timedelta(minutes=minutes)
    row.updated_at = row.created_at
    session.add(row)
    session.commit()


def age_account(session: Session, user: User, days: int = 2) -> None:
    row = fresh(session).get(User, user.id)
    assert row is not None
    row.created_at = utcnow() - timedelta(days=days)
    session.add(row)
    session.commit()


def block(session: Session, user: User) -> None:
    row = fresh(session).get(User, user.id)
    assert row is not None
    row.blocked_at = utcnow()
    row.blocked_reason = "Spam"
    session.add(row)
    session.commit()


def send_comment(
    client: TestClient, need: Need, body: str, *, htmx: bool = False, **fields: Any
) -> Response:
    headers = HTMX if htmx else {}
    return post_form(
        client, f"/needs/{need.id}/comments", {"body": body, **fields}, headers=headers
    )


def parse(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def text_of(html: str, selector: str = "main") -> str:
    node = parse(html).css_first(selector)
    return node.text(separator=" ", strip=True) if node else ""


@contextmanager
def count_statements(engine: Any) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block."""
    statements: list[str] = []

    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _record)
