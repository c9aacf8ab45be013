"""« Moi aussi » through the form answered before routing (app/board/support_form_path.py):
the page's own form, filled and sent as a browser does, gets the answer the route gives (the
support block to htmx, the way back to the need page otherwise), with the same rows; anything
that is not a plain success reaches the route with its body intact."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.board import support_form_path, supports
from app.board.models import Support, Territory
from app.core.db import utcnow
from app.core.ratelimit import LIMITS
from tests.factories import fresh, login_as, make_need, make_user, submit_form
from tests.support_spies import block_for_three_days, headers_of, spied

HTMX = {"HX-Request": "true"}


def route_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(support_form_path, "support_by_form", lambda *a, **k: None)


def press(client, need, **kwargs):  # type: ignore[no-untyped-def]
    """« Moi aussi » pressed on the need page: its own form, as it is on the page now."""
    page = f"/needs/{need.id}-{need.slug}"
    return submit_form(client, page, f"/needs/{need.id}/support", **kwargs)


@pytest.mark.parametrize("role", [Role.resident, Role.staff])
def test_the_form_is_answered_before_routing_exactly_as_the_route_answers(
    client, session, monkeypatch, role
):
    # Offered in their order (position, then name), the archived one not at all; another
    # supporter's answer shows in the demand (by territory too, to staff).
    session.add(Territory(name="Quartier des Chartrons", slug="chartrons", position=1))
    session.add(Territory(name="Bastide", slug="bastide", position=2))
    session.add(Territory(name="Saint-Michel", slug="saint-michel", position=1))
    session.add(Territory(name="Ancien quartier", slug="ancien", archived_at=utcnow()))
    session.commit()
    need = make_need(session)
    bastide = session.exec(select(Territory).where(Territory.slug == "bastide")).one()
    supports.set_concern(session, need, make_user(session), "could_help", bastide.id)
    person = make_user(session, role=role)
    login_as(client, person, session)
    seen = spied(monkeypatch, support_form_path, "support_by_form")

    fast = [press(client, need, headers=HTMX) for _ in range(2)]  # give, withdraw
    fast += [press(client, need) for _ in range(2)]  # without JavaScript
    assert seen["route"] == [] and all(answer is not None for answer in seen["way_in"])

    route_only(monkeypatch)
    routed = [press(client, need, headers=HTMX) for _ in range(2)]
    routed += [press(client, need) for _ in range(2)]
    assert seen["route"] == ["add_support", "remove_support"] * 2

    for one, other in zip(fast, routed, strict=True):
        assert one.status_code == other.status_code
        assert one.text == other.text
        assert headers_of(one) == headers_of(other)
    assert 'aria-pressed="true"' in fast[0].text and "Ancien" not in fast[0].text
    offered = [fast[0].text.index(name) for name in ("Chartrons", "Saint-Michel", "Bastide")]
    assert offered == sorted(offered) and "1 personne pourrait aider" in fast[0].text
    assert fast[2].status_code == 303
    assert fast[2].headers["location"] == f"/needs/{need.id}-{need.slug}#soutien"
    assert [s.concern for s in fresh(session).exec(select(Support)).all()] == ["could_help"]


def test_a_support_already_given_shows_the_persons_answer_as_the_route_does(
    client, session, monkeypatch
):
    territory = Territory(name="Bastide", slug="bastide")
    session.add(territory)
    session.commit()
    need = make_need(session)
    person = make_user(session)
    supports.set_concern(session, need, person, "would_use", territory.id)
    login_as(client, person, session)
    page = f"/needs/{need.id}-{need.slug}"
    html = client.get(page).text  # a page left open before the support was given
    html = html.replace('name="action" value="remove"', 'name="action" value="add"')
    seen = spied(monkeypatch, support_form_path, "support_by_form")

    fast = submit_form(client, page, f"/needs/{need.id}/support", html=html, headers=HTMX)
    assert seen["way_in"][0] is not None and seen["route"] == []
    route_only(monkeypatch)
    routed = submit_form(client, page, f"/needs/{need.id}/support", html=html, headers=HTMX)
    assert fast.text == routed.text and "Votre réponse" in fast.text and "(Bastide)" in fast.text
    stored = fresh(session).exec(select(Support)).one()
    assert stored.concern == "would_use"
    assert fresh(session).get(type(need), need.id).supports_count == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("form token tampered with", 403, "vérification de sécurité"),
        ("blocked account", 403, "Propos insultants"),
        ("unconfirmed account", 403, "Confirmez"),
        ("need hidden since the page was shown", 404, "plus visible"),
    ],
)
def test_what_is_not_a_plain_success_gets_the_routes_answer(
    client, session, monkeypatch, case, status, words
):
    need = make_need(session)
    person = make_user(session, verified=case != "unconfirmed account")
    login_as(client, person, session)
    page = f"/needs/{need.id}-{need.slug}"
    html = client.get(page).text
    fill = {}
    if case == "form token tampered with":
        fill = {"csrf_token": "pas-le-bon-jeton"}
    elif case == "blocked account":
        block_for_three_days(session, person)
    elif case == "need hidden since the page was shown":
        need.status = "hidden"
        session.add(need)
        session.commit()
    seen = spied(monkeypatch, support_form_path, "support_by_form")

    response = submit_form(client, page, f"/needs/{need.id}/support", fill, html=html)

    assert response.status_code == status, response.text
    assert words in response.text
    assert all(answer is None for answer in seen["way_in"])
    assert fresh(session).exec(select(Support)).all() == []


def test_the_route_reads_the_form_the_way_in_read_first(client, session, monkeypatch):
    """A flip (no `action`, as an old page sent it) is the route's: it still gets the
    form's fields, read once already by the way in."""
    need = make_need(session)
    person = make_user(session)
    login_as(client, person, session)
    seen = spied(monkeypatch, support_form_path, "support_by_form")
    page = f"/needs/{need.id}-{need.slug}"
    html = client.get(page).text.replace('<input type="hidden" name="action" value="add">', "")
    response = submit_form(client, page, f"/needs/{need.id}/support", html=html, headers=HTMX)
    assert response.status_code == 200 and 'aria-pressed="true"' in response.text
    assert seen == {"way_in": [], "route": ["add_support"]}


def test_a_limit_reached_is_the_routes_429(client, session, monkeypatch):
    need = make_need(session)
    person = make_user(session)
    login_as(client, person, session)
    for _ in range(LIMITS["support"][0][1]):
        assert press(client, need, headers=HTMX).status_code == 200
    seen = spied(monkeypatch, support_form_path, "support_by_form")
    response = press(client, need, headers=HTMX)
    assert response.status_code == 429
    assert "un peu vite" in response.text
    assert seen["way_in"] == [None]
    assert len(fresh(session).exec(select(Support)).all()) == 0  # an even number of presses
