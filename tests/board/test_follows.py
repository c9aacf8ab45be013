"""Following a need: the toggle (plain form and htmx, aria-pressed), idempotence, automatic
follows, and who may follow what."""

from __future__ import annotations

import pytest

from app.board.follows import add_follow, follow, is_following, unfollow
from app.board.models import Follow
from app.web.errors import Forbidden, NotFound
from app.web.templating import render_to_string
from tests.board.comment_helpers import (
    HTMX,
    add_comment,
    block,
    count,
    fresh,
    parse,
    text_of,
)
from tests.factories import login_as, make_need, make_user, post_form


@pytest.fixture
def need(session):  # type: ignore[no-untyped-def]
    return make_need(session)


@pytest.fixture
def bob(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session, display_name="Bob")
    login_as(client, user, session)
    return user


def follows_of(session, need, user) -> int:  # type: ignore[no-untyped-def]
    return count(session, Follow, Follow.need_id == need.id, Follow.user_id == user.id)


def test_follow_and_unfollow_with_plain_forms(client, session, need, bob):
    response = post_form(client, f"/needs/{need.id}/follow")
    assert response.status_code == 303
    assert response.headers["location"] == f"/needs/{need.id}-{need.slug}"
    assert follows_of(session, need, bob) == 1
    assert is_following(fresh(session), need, bob)
    response = post_form(client, f"/needs/{need.id}/unfollow")
    assert response.status_code == 303
    assert follows_of(session, need, bob) == 0
    assert not is_following(fresh(session), need, bob)


def test_following_twice_and_unfollowing_twice_are_harmless(client, session, need, bob):
    for _ in range(2):
        assert post_form(client, f"/needs/{need.id}/follow").status_code == 303
    assert follows_of(session, need, bob) == 1
    for _ in range(2):
        assert post_form(client, f"/needs/{need.id}/unfollow").status_code == 303
    assert follows_of(session, need, bob) == 0


def test_the_unique_constraint_is_never_an_error(session, need):
    user = make_user(session)
    assert add_follow(session, need.id, user.id) is True
    assert add_follow(session, need.id, user.id) is False
    session.commit()
    assert follows_of(session, need, user) == 1


def test_htmx_swaps_the_button_with_aria_pressed(client, session, need, bob):
    response = post_form(client, f"/needs/{need.id}/follow", headers=HTMX)
    assert response.status_code == 200
    tree = parse(response.text)
    button = tree.css_first(f"#follow-{need.id} button")
    assert button is not None and button.attributes["aria-pressed"] == "true"
    form = tree.css_first(f"#follow-{need.id} form")
    assert form.attributes["action"] == f"/needs/{need.id}/unfollow"  # type: ignore[union-attr]
    assert tree.css_first("header.site-header") is None  # a fragment, not a page

    response = post_form(client, f"/needs/{need.id}/unfollow", headers=HTMX)
    button = parse(response.text).css_first(f"#follow-{need.id} button")
    assert button is not None and button.attributes["aria-pressed"] == "false"


def test_an_anonymous_visitor_is_sent_to_login_and_nothing_is_written(client, session, need):
    response = post_form(client, f"/needs/{need.id}/follow")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login?next=")
    response = post_form(client, f"/needs/{need.id}/follow", headers=HTMX)
    assert response.headers["HX-Redirect"].startswith("/account/login?next=")
    assert count(session, Follow) == 0


@pytest.mark.parametrize("status", ["hidden", "pending", "rejected"])
def test_following_a_need_that_is_not_public_is_404(client, session, bob, status):
    need = make_need(session, status=status)
    assert post_form(client, f"/needs/{need.id}/follow").status_code == 404
    assert post_form(client, "/needs/999999/follow").status_code == 404
    assert count(session, Follow) == 0


def test_a_blocked_account_cannot_follow(client, session, need, bob):
    block(session, bob)
    response = post_form(client, f"/needs/{need.id}/follow")
    assert response.status_code == 403
    assert "bloqué" in text_of(response.text)
    response = post_form(client, f"/needs/{need.id}/follow", headers=HTMX)
    assert response.status_code == 403
    assert parse(response.text).css_first(f"#follow-{need.id} [role=alert]") is not None
    assert count(session, Follow) == 0


def test_a_blocked_account_may_still_unfollow(session, need):
    user = make_user(session)
    follow(session, need, user)
    block(session, user)
    unfollow(session, need, fresh(session).get(type(user), user.id))  # type: ignore[arg-type]
    assert follows_of(session, need, user) == 0
    with pytest.raises(Forbidden):
        follow(session, need, fresh(session).get(type(user), user.id))  # type: ignore[arg-type]


def test_commenters_follow_automatically(session, need):
    commenter = make_user(session)
    add_comment(session, need, commenter, "Je suis concernée.")
    assert is_following(fresh(session), need, commenter)


def test_a_hidden_need_cannot_be_followed_through_the_service(session):
    need = make_need(session, status="hidden")
    with pytest.raises(NotFound):
        follow(session, need, make_user(session))


def test_is_following_is_false_for_visitors(session, need):
    assert is_following(session, need, None) is False


def test_the_follow_fragment_for_a_visitor_is_a_sign_in_link(session, need):
    html = render_to_string(
        "board/_follow.html",
        {"need": need, "following": False, "current_user": None, "csrf_token": ""},
    )
    tree = parse(html)
    assert tree.css_first("form") is None
    link = tree.css_first("a.follow-button")
    assert link is not None and link.attributes["href"].startswith("/account/login?next=")  # type: ignore[union-attr]
