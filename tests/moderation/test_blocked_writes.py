"""A blocked account cannot write — through the forms, with htmx, or with a personal API token —
and sees why (reason and end date); it can still read; a block whose end date has passed lets
the person participate again without anyone lifting it.

The decision itself is written in app/moderation/accounts.py's docstring.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import User
from app.accounts.service import create_api_token
from app.board.models import Comment, Follow, Need, Report, Support
from app.core.db import utcnow
from app.moderation import accounts
from tests.factories import fresh, login_as, make_need, make_user, page_text, post_form

REASON = "Propos insultants répétés"
HTMX = {"HX-Request": "true"}


def _comment(session, need: Need, author: User, body: str) -> Comment:  # type: ignore[no-untyped-def]
    comment = Comment(need_id=need.id, author_id=author.id, body=body, body_html=body)
    session.add(comment)
    session.commit()
    session.refresh(comment)
    return comment


class World:
    """A blocked resident with their own need, comment and support, and a public need of
    someone else to act on."""

    def __init__(self, session: Any) -> None:
        self.other = make_user(session, display_name="Autre personne")
        self.need = make_need(session, author=self.other, title="Le besoin de quelqu'un d'autre")
        self.other_comment = _comment(session, self.need, self.other, "Premier commentaire")
        self.user = make_user(session, display_name="Personne bloquée")
        self.own_need = make_need(session, author=self.user, title="Mon propre besoin à moi")
        self.own_comment = _comment(session, self.need, self.user, "Mon commentaire récent")
        session.add(Support(need_id=self.need.id, user_id=self.user.id))
        session.commit()
        self.last_day = accounts.today_in_paris() + timedelta(days=7)

    def block(self, session: Any, *, until: Any = "default") -> None:
        moderator = make_user(session, role="moderator")
        end = accounts.end_of_day(self.last_day) if until == "default" else until
        accounts.block_user(session, moderator, self.user, reason=REASON, until=end)


@pytest.fixture
def world(session) -> World:  # type: ignore[no-untyped-def]
    return World(session)


def _snapshot(session: Any, world: World) -> tuple[Any, ...]:
    """Everything a blocked person could try to change."""
    session = fresh(session)

    def count(model: type) -> int:
        return session.exec(select(func.count()).select_from(model)).one()

    support = session.exec(
        select(Support).where(Support.need_id == world.need.id, Support.user_id == world.user.id)
    ).first()
    return (
        count(Need),
        count(Comment),
        count(Support),
        count(Report),
        count(Follow),
        session.get(Need, world.own_need.id).title,
        session.get(Comment, world.own_comment.id).body,
        support.concern if support else "no support",
    )


def _text(html: str) -> str:
    return page_text(html).replace("\xa0", " ")  # French spacing before « : »


def _says_why(html: str, world: World) -> None:
    text = _text(html)
    assert "Votre compte est bloqué jusqu'au" in text
    assert f"Motif : {REASON}" in text
    assert str(world.last_day.year) in text


# name → (path, form data); `{need}`, `{own_need}`, `{own_comment}`, `{parent}`, `{other}`
# are filled from the World.
WRITES: dict[str, tuple[str, dict[str, str]]] = {
    "post a need": (
        "/needs/new",
        {"title": "Un nouveau besoin pendant le blocage", "body": "Texte"},
    ),
    "support": ("/needs/{need}/support", {"action": "add"}),
    "withdraw a support": ("/needs/{need}/support", {"action": "remove"}),
    "say how one is concerned": ("/needs/{need}/support/concern", {"concern": "has_need"}),
    "comment": ("/needs/{need}/comments", {"body": "Un commentaire pendant le blocage"}),
    "reply": (
        "/needs/{need}/comments",
        {"body": "Une réponse pendant le blocage", "parent_id": "{parent}"},
    ),
    "report a need": ("/report", {"kind": "need", "id": "{need}", "reason": "spam"}),
    "report a comment": ("/report", {"kind": "comment", "id": "{parent}", "reason": "spam"}),
    "report an account": ("/report", {"kind": "user", "id": "{other}", "reason": "spam"}),
    "edit one's need": (
        "/needs/{own_need}/edit",
        {"title": "Un titre modifié pendant le blocage", "body": "Texte"},
    ),
    "edit one's comment": ("/comments/{own_comment}/edit", {"body": "Modifié pendant le blocage"}),
    "follow": ("/needs/{need}/follow", {}),
}


def _fill(value: str, world: World) -> str:
    return value.format(
        need=world.need.id,
        own_need=world.own_need.id,
        own_comment=world.own_comment.id,
        parent=world.other_comment.id,
        other=world.other.id,
    )


def _request(name: str, world: World) -> tuple[str, dict[str, str]]:
    path, data = WRITES[name]
    return _fill(path, world), {key: _fill(value, world) for key, value in data.items()}


@pytest.mark.parametrize("name", list(WRITES))
def test_a_blocked_account_is_refused_with_its_reason_and_nothing_is_written(
    client, session, world, name
):
    login_as(client, world.user, session)
    world.block(session)
    before = _snapshot(session, world)
    path, data = _request(name, world)

    response = post_form(client, path, data)

    assert response.status_code == 403
    _says_why(response.text, world)
    assert _snapshot(session, world) == before


@pytest.mark.parametrize("name", ["support", "withdraw a support", "comment", "reply", "follow"])
def test_with_htmx_the_refusal_comes_in_place_and_nothing_is_written(client, session, world, name):
    login_as(client, world.user, session)
    world.block(session)
    before = _snapshot(session, world)
    path, data = _request(name, world)

    response = post_form(client, path, data, headers=HTMX)

    assert response.status_code == 403
    assert REASON in response.text
    assert _snapshot(session, world) == before


@pytest.mark.parametrize("path", ["/needs/new", "/report?kind=need&id={need}"])
def test_the_forms_themselves_say_why_instead_of_opening(client, session, world, path):
    login_as(client, world.user, session)
    world.block(session)
    response = client.get(_fill(path, world))
    assert response.status_code == 403
    _says_why(response.text, world)


def test_a_blocked_account_keeps_reading_and_its_own_pages(client, session, world):
    login_as(client, world.user, session)
    world.block(session)
    assert client.get("/").status_code == 200
    assert client.get(f"/needs/{world.need.id}-{world.need.slug}").status_code == 200
    assert client.get("/account").status_code == 200
    notifications = client.get("/account/notifications")
    assert notifications.status_code == 200
    assert REASON in _text(notifications.text)  # the block itself was told to them


def test_a_blocked_account_may_still_unfollow(client, session, world):
    session.add(Follow(need_id=world.need.id, user_id=world.user.id))
    session.commit()
    login_as(client, world.user, session)
    world.block(session)
    response = post_form(client, f"/needs/{world.need.id}/unfollow")
    assert response.status_code == 303
    assert _snapshot(session, world)[4] == 0


def test_a_blocked_author_may_still_delete_their_own_need(client, session, world):
    # Deleting what one wrote is deleting one's data: a block never takes that away.
    login_as(client, world.user, session)
    world.block(session)
    assert client.get(f"/needs/{world.own_need.id}/delete").status_code == 200
    response = post_form(client, f"/needs/{world.own_need.id}/delete")
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Need, world.own_need.id).deleted_at is not None


# --- personal API tokens ------------------------------------------------------------------------


def _token_client(client: Any, session: Any, user: User) -> dict[str, str]:
    """A client with no session cookie, only the user's personal token (and the form's CSRF
    cookie, so the request reaches the route)."""
    client.cookies.delete(SESSION_COOKIE)
    return {"Authorization": f"Bearer {create_api_token(session, user, 'Script')}"}


@pytest.mark.parametrize("blocked", [True, False])
@pytest.mark.parametrize("name", list(WRITES))
def test_a_personal_token_signs_nobody_in_on_the_form_routes(client, session, world, name, blocked):
    # Tokens belong to the JSON API (where a blocked account gets 403 with its reason,
    # tests/syndication/test_api_write.py): on the site's forms they are no login at all.
    headers = _token_client(client, session, world.user)
    if blocked:
        world.block(session)
    before = _snapshot(session, world)
    path, data = _request(name, world)

    response = post_form(client, path, data, headers=headers)

    assert response.status_code in (303, 401, 403)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/account/login")
    assert _snapshot(session, world) == before


# --- the end date ------------------------------------------------------------------------------


def test_a_block_whose_end_date_has_passed_no_longer_applies(client, session, world):
    login_as(client, world.user, session)
    world.block(session)
    path, data = _request("comment", world)
    assert post_form(client, path, data).status_code == 403
    # Time passes: the end date is now behind us (nobody lifts the block).
    user = fresh(session).get(User, world.user.id)
    user.blocked_until = utcnow() - timedelta(seconds=1)
    session.add(user)
    session.commit()

    assert post_form(client, path, data).status_code == 303
    assert (
        post_form(client, f"/needs/{world.need.id}/support", {"action": "remove"}).status_code
        == 303
    )
    assert client.get("/needs/new").status_code == 200
    count = _snapshot(session, world)
    assert count[1] == 3 and count[2] == 0
    assert fresh(session).get(User, world.user.id).blocked_at is not None  # nothing was lifted
