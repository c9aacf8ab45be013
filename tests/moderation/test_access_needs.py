"""Who may open the need file, edit needs and comments, and merge duplicates (table-driven),
and proof that a refused write changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from app.board.comments import post_comment
from app.board.models import Comment, Need, Notification
from app.core.audit import AuditEntry
from app.moderation.models import Revision
from tests.factories import csrf_token, fresh, make_need, make_user
from tests.moderation.access import MODERATOR_UP, ROLES, browser_as, matrix_cases

GET_MATRIX = {
    "/moderation/needs/{need_id}": MODERATOR_UP,
    "/moderation/needs/{need_id}/edit": MODERATOR_UP,
    "/moderation/needs/{need_id}/merge": MODERATOR_UP,
    "/moderation/comments/{comment_id}/edit": MODERATOR_UP,
}
POSTS = [
    "/moderation/needs/{need_id}/edit",
    "/moderation/comments/{comment_id}/edit",
    "/moderation/needs/{need_id}/merge",
]

ROUTES_COVERED = {("GET", path) for path in GET_MATRIX} | {("POST", path) for path in POSTS}

# Anonymous: to the login page; residents, blocked accounts and blocked team members: 403;
# active moderators, staff and admins: done (303 to the need's file).
POST_EXPECTED = [303, 403, 403, 303, 403, 303, 303]
ALLOWED = {"moderator", "staff", "admin"}


def _world(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    need = make_need(session, title="Un besoin avec un numéro de téléphone")
    target = make_need(session, title="Le besoin qui restera après la fusion")
    comment = post_comment(session, need, make_user(session), "Appelez le 06 12 34 56 78.")
    return {"need": need, "target": target, "comment": comment}


def _path(template: str, world: dict[str, Any]) -> str:
    return template.format(need_id=world["need"].id, comment_id=world["comment"].id)


@pytest.mark.parametrize(("path", "who", "expected"), matrix_cases(GET_MATRIX))
def test_need_pages_access(client, session, path, who, expected):
    world = _world(session)
    browser_as(client, session, who)
    response = client.get(_path(path, world), follow_redirects=False)
    assert response.status_code == expected
    if expected == 303:
        assert response.headers["location"].startswith("/account/login?next=/moderation")


def _form(path: str, world: dict[str, Any]) -> dict[str, str]:
    need, comment = world["need"], world["comment"]
    if path.endswith("/merge"):
        return {"into": str(world["target"].id), "seen_status": need.status}
    if path.startswith("/moderation/comments"):
        return {
            "body": "Appelez le numéro (retiré).",
            "reason": "Numéro retiré",
            "seen": comment.updated_at.isoformat(),
        }
    return {
        "title": need.title,
        "body": "Texte corrigé par la modération.",
        "reason": "Numéro retiré",
        "seen": need.updated_at.isoformat(),
    }


def _snapshot(session, world) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    fresh(session)
    need = session.get(Need, world["need"].id)
    target = session.get(Need, world["target"].id)
    comment = session.get(Comment, world["comment"].id)

    def count(model: Any) -> int:
        return session.exec(select(func.count()).select_from(model)).one()

    moderation_notes = session.exec(
        select(func.count()).where(Notification.kind == "moderation")
    ).one()
    return (
        need.status,
        need.body,
        need.comments_count,
        target.supports_count,
        target.comments_count,
        comment.body,
        comment.need_id,
        count(AuditEntry),
        count(Revision),
        moderation_notes,
    )


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(("who", "expected"), list(zip(ROLES, POST_EXPECTED, strict=True)))
def test_only_active_moderators_write_and_a_refusal_writes_nothing(
    client, session, path, who, expected
):
    world = _world(session)
    before = _snapshot(session, world)
    browser_as(client, session, who)
    response = client.post(
        _path(path, world),
        data={"csrf_token": csrf_token(client), **_form(path, world)},
        follow_redirects=False,
    )
    assert response.status_code == expected
    after = _snapshot(session, world)
    if who in ALLOWED:
        assert response.headers["location"].startswith("/moderation/needs/")
        assert after != before
        assert after[7] == before[7] + 1  # one audit entry
    else:
        if expected == 303:
            assert response.headers["location"].startswith("/account/login?next=/moderation")
        assert after == before
