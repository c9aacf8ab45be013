"""A form's signed rendering time (`form_started`) serves one write (issue 9, point 9): a value
harvested once no longer passes signup after signup for a day. People are not refused for it:
the very same form sent twice (a double click) is handed back what it wrote, every form
re-rendered carries a fresh value, and a page with several forms (a need's comment and reply
forms) gives each its own, so a person can post twice in a row from the same page."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import Comment, Need
from app.core.db import utcnow
from app.core.ratelimit import RateEvent
from app.ops.jobs import RATE_EVENT_RETENTION, purge_expired
from app.web import antiabuse
from app.web.antiabuse import MAX_FORM_AGE, STARTED_FIELD, record_use, sign_form_start
from tests.board.comment_helpers import HTMX, add_comment
from tests.factories import fresh, login_as, make_need, make_user, read_form, submit_form

GENERIC = "Votre envoi n'a pas pu être accepté"
SIGNUP = {
    "email": "alice@exemple.fr",
    "display_name": "Alice",
    "password": "un-mot-de-passe-solide",
}


def count(session: Session, model: type, *where: Any) -> int:
    return fresh(session).exec(select(func.count()).select_from(model).where(*where)).one()


def harvested(client: TestClient, seconds_ago: int = 10) -> str:
    """A valid `form_started` value, as a script would keep it from one rendered page."""
    settings = client.app.state.settings  # type: ignore[attr-defined]
    return sign_form_start(settings, utcnow() - timedelta(seconds=seconds_ago))


def send(client: TestClient, page: str, action: str, fill: dict[str, str], started: str) -> Any:
    """Sends the form of `page` with `fill`, its `form_started` replaced by `started`."""
    method, values, _names = read_form(client.get(page).text, action)
    assert method == "post"
    values.pop("action", None)  # the need form's other button is « Aperçu »: not pressed
    values.update(fill)
    values[STARTED_FIELD] = started
    return client.post(action, data=values, follow_redirects=False)


def form_values(html: str, form_id: str) -> dict[str, str]:
    """The values the form `#form_id` sends as it is on the page (its own form_started too)."""
    node = LexborHTMLParser(html).css_first(f"form#{form_id}")
    assert node is not None, f"no form #{form_id}"
    action = node.attributes.get("action") or ""
    return read_form(node.html or "", action)[1]


# --- sign-up ---------------------------------------------------------------------------------


def test_a_replayed_form_started_value_is_refused_on_the_second_signup(client, session):
    started = harvested(client)

    first = send(client, "/account/signup", "/account/signup", SIGNUP, started)
    assert first.status_code == 303
    rows_before = count(session, RateEvent)

    other = {**SIGNUP, "email": "bob@exemple.fr", "display_name": "Bob"}
    second = send(client, "/account/signup", "/account/signup", other, started)

    assert second.status_code == 422
    assert GENERIC in LexborHTMLParser(second.text).body.text()  # type: ignore[union-attr]
    assert count(session, User, User.email == "bob@exemple.fr") == 0
    assert count(session, RateEvent) == rows_before  # nothing written, not even a rate event
    # The form shown again carries a fresh value, which passes.
    _method, values, _names = read_form(second.text, "/account/signup")
    assert values[STARTED_FIELD] != started
    assert submit_form(client, "/account/signup", "/account/signup", other).status_code == 303


def test_a_harvested_value_passes_one_signup_only_whatever_the_address(client, session):
    started = harvested(client)
    statuses = [
        send(
            client,
            "/account/signup",
            "/account/signup",
            {**SIGNUP, "email": f"robot{n}@exemple.fr", "display_name": f"Robot {n}"},
            started,
        ).status_code
        for n in range(4)
    ]
    assert statuses == [303, 422, 422, 422]
    assert count(session, User) == 1


def test_the_same_signup_form_sent_twice_is_answered_like_a_known_address(client, session):
    """A double click: the same form, same value and same address, sent twice."""
    started = harvested(client)
    first = send(client, "/account/signup", "/account/signup", SIGNUP, started)
    second = send(client, "/account/signup", "/account/signup", SIGNUP, started)

    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    assert count(session, User) == 1


def test_a_refused_signup_does_not_use_up_its_value(client, session):
    started = harvested(client)
    refused = send(
        client,
        "/account/signup",
        "/account/signup",
        {**SIGNUP, "email": "pas-une-adresse"},
        started,
    )
    assert refused.status_code == 422
    assert count(session, RateEvent) == 0

    assert send(client, "/account/signup", "/account/signup", SIGNUP, started).status_code == 303


def test_a_value_of_every_rendered_form_is_its_own(client):
    values = {read_form(client.get("/account/signup").text, "/account/signup")[1][STARTED_FIELD]}
    values |= {read_form(client.get("/account/signup").text, "/account/signup")[1][STARTED_FIELD]}
    assert len(values) == 2  # even within the same second


@pytest.fixture
def no_fill_time(monkeypatch):  # type: ignore[no-untyped-def]
    """The forms are sent with the values the page carries, at once: no waiting in tests."""
    monkeypatch.setattr(antiabuse, "MIN_FILL_SECONDS", 0)


# --- a need posted -------------------------------------------------------------------------------


@pytest.fixture
def resident(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session)
    login_as(client, user, session)
    return user


# A browser sends "" for « Je ne sais pas » (value=""); read_form would send the option's text.
NEED = {
    "title": "Un local pour le club de lecture",
    "body": "Nous cherchons une salle le soir.",
    "theme": "",
    "territory": "",
}


def test_a_need_form_value_serves_one_need(client, session, resident):
    started = harvested(client)
    assert send(client, "/needs/new", "/needs/new", NEED, started).status_code == 303

    # Another form's submission key, the same harvested value: refused, nothing written.
    again = {**NEED, "title": "Un autre besoin, même valeur"}
    response = send(client, "/needs/new", "/needs/new", again, started)

    assert response.status_code == 422
    assert GENERIC in LexborHTMLParser(response.text).body.text()  # type: ignore[union-attr]
    assert count(session, Need) == 1


def test_a_need_form_sent_twice_hands_back_its_need(client, session, resident):
    """A double click sends the same form (same value, same submission key) twice."""
    _method, values, _names = read_form(client.get("/needs/new").text, "/needs/new")
    values.pop("action", None)  # « Publier le besoin », not « Aperçu »
    values.update(NEED)
    values[STARTED_FIELD] = harvested(client)

    first = client.post("/needs/new", data=values, follow_redirects=False)
    second = client.post("/needs/new", data=values, follow_redirects=False)

    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    assert count(session, Need) == 1


def test_two_needs_in_a_row_through_the_form(client, session, resident, no_fill_time):
    """Each rendering of the form carries its own value: posting again works."""
    for title in ("Un premier besoin à proposer", "Un second besoin à proposer"):
        _method, values, _names = read_form(client.get("/needs/new").text, "/needs/new")
        values.pop("action", None)
        response = client.post(
            "/needs/new", data={**values, **NEED, "title": title}, follow_redirects=False
        )
        assert response.status_code == 303
    assert count(session, Need) == 2


# --- comments: several forms on one page, htmx keeping the page -------------------------------


def test_each_comment_form_of_a_need_page_has_its_own_value(client, session, resident):
    need = make_need(session)
    add_comment(session, need, make_user(session), "Un premier fil.")
    add_comment(session, need, make_user(session), "Un second fil.")

    html = client.get(f"/needs/{need.id}-{need.slug}").text
    tree = LexborHTMLParser(html)
    forms = tree.css("form.comment-form")
    assert len(forms) == 1  # the new comment's; each reply form is asked for with « Répondre »
    for link in tree.css("a.reply-link"):
        asked = client.get(link.attributes["data-hx-get"], headers=HTMX).text
        forms += LexborHTMLParser(asked).css("form.comment-form")
    assert len(forms) == 3
    started = [f.css_first(f"input[name={STARTED_FIELD}]").attributes["value"] for f in forms]
    assert len(set(started)) == 3


def test_a_person_comments_then_replies_then_comments_again_from_the_same_page(
    client, session, resident, no_fill_time
):
    need = make_need(session)
    thread = add_comment(session, need, make_user(session), "Qui d'autre est concerné ?")
    page = client.get(f"/needs/{need.id}-{need.slug}").text
    action = f"/needs/{need.id}/comments"

    # A comment with htmx: the page stays, the answer refreshes that form out of band.
    values = form_values(page, f"comment-form-{need.id}")
    first = client.post(action, data={**values, "body": "Moi aussi."}, headers=HTMX)
    assert first.status_code == 200
    refreshed = form_values(first.text, f"comment-form-{need.id}")
    assert refreshed[STARTED_FIELD] != values[STARTED_FIELD]

    # Then a reply, from the reply form that « Répondre » puts in place (htmx asks for it).
    link = LexborHTMLParser(page).css_first(f"#reply-box-{thread.id} a.reply-link")
    assert link is not None
    asked = client.get(link.attributes["data-hx-get"], headers=HTMX)
    assert asked.status_code == 200
    reply = form_values(asked.text, f"reply-form-{thread.id}")
    second = client.post(action, data={**reply, "body": "Je vous réponds."}, headers=HTMX)
    assert second.status_code == 200, second.text

    # Then another comment, from the refreshed form.
    third = client.post(action, data={**refreshed, "body": "Et encore."}, headers=HTMX)
    assert third.status_code == 200, third.text

    assert count(session, Comment, Comment.need_id == need.id) == 4


def test_a_comment_form_value_cannot_post_a_second_comment(client, session, resident):
    need = make_need(session)
    page = client.get(f"/needs/{need.id}-{need.slug}").text
    values = {**form_values(page, f"comment-form-{need.id}"), STARTED_FIELD: harvested(client)}
    action = f"/needs/{need.id}/comments"

    assert client.post(action, data={**values, "body": "Un."}, headers=HTMX).status_code == 200
    # The same value with the same submission key is the same form sent twice: no new comment.
    assert client.post(action, data={**values, "body": "Un."}, headers=HTMX).status_code == 200
    # With a new submission key (a script's), it is refused.
    replay = {**values, "submission_key": "une-autre-cle", "body": "Deux."}
    refused = client.post(action, data=replay, headers=HTMX)
    assert refused.status_code == 422
    # On another need too.
    other = make_need(session)
    refused = client.post(f"/needs/{other.id}/comments", data=replay, headers=HTMX)
    assert refused.status_code == 422
    assert count(session, Comment) == 1


# --- the store -----------------------------------------------------------------------------------


def test_two_requests_with_one_value_at_once_pass_once(app, session):
    """The second request waits for the first one's transaction, then sees its use."""
    engine = app.state.engine
    key = "form:test-concurrent"
    now = utcnow()
    results: list[bool] = []

    with Session(engine) as first:
        assert record_use(first, key, window=MAX_FORM_AGE, now=now)

        def second() -> None:
            with Session(engine) as other:
                results.append(record_use(other, key, window=MAX_FORM_AGE, now=now))
                other.commit()

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second use did not wait for the first transaction"
        first.commit()
        thread.join(timeout=10)

    assert results == [False]
    assert count(session, RateEvent, RateEvent.key == key) == 1


def test_used_values_are_kept_as_long_as_a_form_is_valid(app, session):
    assert RATE_EVENT_RETENTION >= MAX_FORM_AGE
    now = utcnow()
    session.add(RateEvent(key="form:recent", created_at=now - MAX_FORM_AGE + timedelta(minutes=5)))
    session.add(RateEvent(key="form:old", created_at=now - MAX_FORM_AGE - timedelta(minutes=5)))
    session.commit()

    purge_expired(app.state.engine)

    assert list(fresh(session).exec(select(RateEvent.key))) == ["form:recent"]
