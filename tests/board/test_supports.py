"""Supports (issue 3, item 4): « Moi aussi » as a plain form and with htmx, one per account,
counted on the need, and the optional « how are you concerned » answer with its breakdown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import event, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.board import supports
from app.board.models import Need, Support
from app.board.trending import support_weight
from app.core.db import utcnow
from app.core.ratelimit import RateEvent
from app.web.templating import render_to_string
from tests.factories import fresh, login_as, make_need, make_territory, make_user, post_form

HTMX = {"HX-Request": "true"}


# --- helpers -----------------------------------------------------------------------------


def reload(session: Session, need: Need) -> Need:
    found = fresh(session).get(Need, need.id)
    assert found is not None
    return found


def rows(session: Session, need: Need) -> list[Support]:
    return list(fresh(session).exec(select(Support).where(Support.need_id == need.id)).all())


def assert_counted(session: Session, need: Need, expected: int) -> None:
    """The stored count, the number of rows and the expectation agree."""
    assert len(rows(session, need)) == expected
    assert reload(session, need).supports_count == expected


def support(client: Any, need: Need, action: str | None = "add", htmx: bool = False, **data: Any):
    payload = dict(data)
    if action is not None:
        payload["action"] = action
    return post_form(client, f"/needs/{need.id}/support", payload, headers=HTMX if htmx else None)


def answer(client: Any, need: Need, htmx: bool = False, **data: Any):
    return post_form(
        client, f"/needs/{need.id}/support/concern", data, headers=HTMX if htmx else None
    )


def block(html: str, need: Need) -> Any:
    node = HTMLParser(html).css_first(f"#support-{need.id}")
    assert node is not None, "no support block in the response"
    return node


def pressed(html: str, need: Need) -> str:
    button = block(html, need).css_first("button[aria-pressed]")
    assert button is not None
    return button.attributes["aria-pressed"]


def count_text(html: str, need: Need) -> str:
    return block(html, need).css_first(".support-count").text(strip=True)


def text_of(html: str) -> str:
    """The page's text as a reader sees it (entities decoded, French spaces made plain)."""
    text = HTMLParser(html).body.text(separator=" ")
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def signed_in(client: Any, session: Session, **kwargs: Any) -> Any:
    user = make_user(session, **kwargs)
    login_as(client, user, session)
    return user


def need_url(need: Need) -> str:
    return f"/needs/{need.id}-{need.slug}#soutien"


# --- toggling, as a plain form -----------------------------------------------------------


def test_support_then_withdraw_with_plain_forms_redirects_back_and_counts_exactly(client, session):
    need = make_need(session)
    signed_in(client, session)

    response = support(client, need, "add")
    assert response.status_code == 303
    assert response.headers["location"] == need_url(need)
    assert_counted(session, need, 1)

    response = support(client, need, "remove")
    assert response.status_code == 303
    assert response.headers["location"] == need_url(need)
    assert_counted(session, need, 0)


def test_support_twice_counts_once(client, session):
    need = make_need(session)
    signed_in(client, session)
    assert support(client, need, "add").status_code == 303
    assert support(client, need, "add").status_code == 303  # a double submission
    assert_counted(session, need, 1)


def test_withdraw_twice_or_without_support_changes_nothing(client, session):
    need = make_need(session)
    other = make_user(session)
    supports.add_support(session, need, other)
    signed_in(client, session)
    assert support(client, need, "remove").status_code == 303
    assert support(client, need, "remove").status_code == 303
    assert_counted(session, need, 1)


def test_form_without_action_flips_the_support(client, session):
    need = make_need(session)
    signed_in(client, session)
    support(client, need, action=None)
    assert_counted(session, need, 1)
    support(client, need, action=None)
    assert_counted(session, need, 0)


def test_several_accounts_each_count_once(client, session):
    need = make_need(session)
    for _ in range(3):
        signed_in(client, session)
        support(client, need, "add")
        support(client, need, "add")
    assert_counted(session, need, 3)


def test_the_database_refuses_a_second_row_for_the_same_account(session):
    need = make_need(session)
    user = make_user(session)
    session.add(Support(need_id=need.id, user_id=user.id))
    session.commit()
    session.add(Support(need_id=need.id, user_id=user.id))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


# --- with htmx ---------------------------------------------------------------------------


def test_htmx_returns_only_the_block_with_count_and_pressed_state(client, session):
    need = make_need(session)
    signed_in(client, session)

    response = support(client, need, "add", htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.text.lower()
    assert "HX-Request" in response.headers["vary"]
    assert pressed(response.text, need) == "true"
    assert count_text(response.text, need) == "1 soutien"
    action = block(response.text, need).css_first("input[name=action]")
    assert action.attributes["value"] == "remove"

    response = support(client, need, "remove", htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.text.lower()
    assert pressed(response.text, need) == "false"
    assert count_text(response.text, need) == "Aucun soutien"
    assert block(response.text, need).css_first("input[name=action]").attributes["value"] == "add"


def test_the_block_is_an_htmx_form_that_also_works_without_javascript(client, session):
    need = make_need(session)
    signed_in(client, session)
    html = support(client, need, "add", htmx=True).text
    form = block(html, need).css_first("form.support-toggle")
    assert form.attributes["method"] == "post"
    assert form.attributes["action"] == f"/needs/{need.id}/support"
    assert form.attributes["data-hx-post"] == f"/needs/{need.id}/support"
    assert form.attributes["data-hx-target"] == f"#support-{need.id}"
    assert form.attributes["data-hx-swap"] == "outerHTML"
    assert form.css_first("input[name=csrf_token]").attributes["value"]
    # htmx attributes only in their valid data- form, and no inline script or style.
    assert " hx-" not in html
    assert "<script" not in html
    assert "style=" not in html


def test_count_uses_the_plural_from_two_supports(client, session):
    need = make_need(session)
    supports.add_support(session, need, make_user(session))
    signed_in(client, session)
    html = support(client, need, "add", htmx=True).text
    assert count_text(html, need) == "2 soutiens"


# --- who may support what ----------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login_and_nothing_is_written(client, session):
    need = make_need(session)
    response = support(client, need, "add")
    assert response.status_code == 303
    assert response.headers["location"] == f"/account/login?next=/needs/{need.id}"
    response = answer(client, need, concern="has_need")
    assert response.status_code == 303
    assert response.headers["location"] == f"/account/login?next=/needs/{need.id}"
    assert_counted(session, need, 0)
    assert fresh(session).exec(select(func.count()).select_from(RateEvent)).one() == 0


def test_anonymous_htmx_request_asks_for_a_full_navigation_to_login(client, session):
    need = make_need(session)
    response = support(client, need, "add", htmx=True)
    assert response.headers["HX-Redirect"] == f"/account/login?next=/needs/{need.id}"
    assert_counted(session, need, 0)


@pytest.mark.parametrize("status", ["pending", "hidden", "rejected", "merged", "deleted"])
@pytest.mark.parametrize("htmx", [False, True])
def test_supporting_a_need_that_is_not_public_is_not_found_and_writes_nothing(
    client, session, status, htmx
):
    if status == "deleted":
        need = make_need(session)
        need.deleted_at = utcnow()
        session.add(need)
        session.commit()
    else:
        need = make_need(session, status=status)
    signed_in(client, session)
    assert support(client, need, "add", htmx=htmx).status_code == 404
    assert answer(client, need, htmx=htmx, concern="has_need").status_code == 404
    assert_counted(session, need, 0)


def test_the_author_of_a_hidden_need_cannot_support_it_either(client, session):
    author = make_user(session)
    need = make_need(session, author=author, status="hidden")
    login_as(client, author, session)
    assert support(client, need, "add").status_code == 404
    assert_counted(session, need, 0)


def test_covered_needs_stay_public_and_can_be_supported(client, session):
    need = make_need(session, status="covered")
    signed_in(client, session)
    assert support(client, need, "add").status_code == 303
    assert_counted(session, need, 1)


@pytest.mark.parametrize("ref", ["999999", "abc", "-1"])
def test_unknown_or_malformed_need_ids_never_fail(client, session, ref):
    signed_in(client, session)
    response = post_form(client, f"/needs/{ref}/support", {"action": "add"})
    assert response.status_code in (404, 422)


def test_blocked_account_is_refused_with_the_reason_and_nothing_is_written(client, session):
    need = make_need(session)
    user = signed_in(client, session)
    user.blocked_at = utcnow()
    user.blocked_reason = "Messages publicitaires"
    session.add(user)
    session.commit()

    response = support(client, need, "add")
    assert response.status_code == 403
    assert "Votre compte est bloqué" in text_of(response.text)
    assert "Messages publicitaires" in text_of(response.text)

    response = support(client, need, "add", htmx=True)
    assert response.status_code == 403
    assert "<html" not in response.text.lower()
    error = block(response.text, need).css_first(".support-error")
    assert "Messages publicitaires" in error.text()

    assert answer(client, need, concern="has_need").status_code == 403
    assert_counted(session, need, 0)


def test_an_account_blocked_until_a_date_sees_the_date(client, session):
    need = make_need(session)
    user = signed_in(client, session)
    user.blocked_at = utcnow()
    user.blocked_until = utcnow() + timedelta(days=3)
    session.add(user)
    session.commit()
    response = support(client, need, "add")
    assert response.status_code == 403
    assert "bloqué jusqu" in text_of(response.text)
    assert_counted(session, need, 0)


def test_unknown_action_is_refused_with_a_message(client, session):
    need = make_need(session)
    signed_in(client, session)
    response = support(client, need, "supprimer-tout")
    assert response.status_code == 422
    assert "Action inconnue" in text_of(response.text)
    assert_counted(session, need, 0)


def test_csrf_token_is_required(client, session):
    need = make_need(session)
    signed_in(client, session)
    client.get("/account/login")  # a CSRF cookie, but no token sent
    response = client.post(
        f"/needs/{need.id}/support", data={"action": "add"}, follow_redirects=False
    )
    assert response.status_code == 403
    response = client.post(
        f"/needs/{need.id}/support",
        data={"action": "add", "csrf_token": "forged"},
        headers=HTMX,
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert_counted(session, need, 0)


def test_supports_are_rate_limited_with_a_friendly_429(client, session, monkeypatch):
    from app.core import ratelimit

    monkeypatch.setitem(ratelimit.LIMITS, "support", [(timedelta(minutes=1), 2)])
    need = make_need(session)
    signed_in(client, session)
    assert support(client, need, "add").status_code == 303
    assert support(client, need, "remove").status_code == 303

    response = support(client, need, "add")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Réessayez dans" in text_of(response.text)

    response = support(client, need, "add", htmx=True)
    assert response.status_code == 429
    assert "<html" not in response.text.lower()
    assert "Réessayez dans" in block(response.text, need).css_first(".support-error").text()
    assert pressed(response.text, need) == "false"
    assert_counted(session, need, 0)


def test_rate_limits_off_lets_everything_through(app, client, session, monkeypatch):
    from app.core import ratelimit

    monkeypatch.setitem(ratelimit.LIMITS, "support", [(timedelta(minutes=1), 1)])
    monkeypatch.setattr(app.state.settings, "rate_limits", "off")
    need = make_need(session)
    signed_in(client, session)
    for action in ("add", "remove", "add"):
        assert support(client, need, action).status_code == 303
    assert_counted(session, need, 1)


# --- how the supporter is concerned ------------------------------------------------------


def test_concern_question_is_asked_once_after_supporting(client, session):
    need = make_need(session)
    signed_in(client, session)
    html = support(client, need, "add", htmx=True).text
    form = block(html, need).css_first("form.support-concern")
    assert form is not None
    assert form.attributes["data-hx-post"] == f"/needs/{need.id}/support/concern"
    choices = [b.text(strip=True) for b in form.css("button[name=concern]")]
    assert choices == [
        "J'ai ce besoin",
        "J'utiliserais ce service",
        "Je pourrais aider",
        "Mon organisation pourrait soutenir",
    ]
    # Not before supporting.
    html = support(client, need, "remove", htmx=True).text
    assert block(html, need).css_first("form.support-concern") is None


def test_concern_and_territory_are_stored_in_one_click(client, session):
    territory = make_territory(session)
    need = make_need(session)
    signed_in(client, session)
    support(client, need, "add")

    response = answer(client, need, concern="would_use", territory=str(territory.id))
    assert response.status_code == 303
    assert response.headers["location"] == need_url(need)
    [row] = rows(session, need)
    assert (row.concern, row.territory_id) == ("would_use", territory.id)
    assert reload(session, need).supports_count == 1

    html = answer(client, need, htmx=True, concern="could_help").text
    node = block(html, need)
    assert "Je pourrais aider" in node.css_first(".support-answer").text()
    # Answered: the question folds away behind « Modifier ma réponse ».
    assert node.css_first("details.support-change form.support-concern") is not None
    [row] = rows(session, need)
    assert (row.concern, row.territory_id) == ("could_help", None)


def test_answer_names_the_territory(client, session):
    territory = make_territory(session, slug="pessac", name="Pessac")
    need = make_need(session)
    signed_in(client, session)
    support(client, need, "add")
    html = answer(client, need, htmx=True, concern="has_need", territory=str(territory.id)).text
    text = block(html, need).css_first(".support-answer").text(strip=True)
    assert "J'ai ce besoin" in text and "Pessac" in text


def test_answering_without_supporting_first_gives_the_support(client, session):
    need = make_need(session)
    signed_in(client, session)
    assert answer(client, need, concern="has_need").status_code == 303
    assert_counted(session, need, 1)
    assert rows(session, need)[0].concern == "has_need"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"concern": "vip"}, "Cette réponse n'est pas proposée"),
        ({"concern": ""}, "Choisissez comment vous êtes concerné·e."),
        ({}, "Choisissez comment vous êtes concerné·e."),
        ({"concern": "has_need", "territory": "999999"}, "Ce territoire n'existe pas"),
        ({"concern": "has_need", "territory": "merignac"}, "Ce territoire n'existe pas"),
        ({"concern": "has_need", "territory": "1e9"}, "Ce territoire n'existe pas"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_answers_get_a_clear_french_message_and_write_nothing(
    client, session, data, message, htmx
):
    need = make_need(session)
    signed_in(client, session)
    response = answer(client, need, htmx=htmx, **data)
    assert response.status_code == 422
    assert message in text_of(response.text)
    if htmx:
        assert "<html" not in response.text.lower()
    assert_counted(session, need, 0)
    assert fresh(session).exec(select(func.count()).select_from(RateEvent)).one() == 0


def test_an_archived_territory_is_refused(client, session):
    territory = make_territory(session)
    territory.archived_at = utcnow()
    session.add(territory)
    session.commit()
    need = make_need(session)
    signed_in(client, session)
    support(client, need, "add")
    response = answer(client, need, concern="has_need", territory=str(territory.id))
    assert response.status_code == 422
    assert "n'est plus proposé" in text_of(response.text)
    [row] = rows(session, need)
    assert (row.concern, row.territory_id) == (None, None)


def test_service_validates_concern_before_writing(session):
    need = make_need(session)
    user = make_user(session)
    from app.web.errors import Invalid

    with pytest.raises(Invalid) as raised:
        supports.add_support(session, need, user, concern="unknown")
    assert "concern" in raised.value.errors
    with pytest.raises(Invalid) as raised:
        supports.set_concern(session, need, user, "has_need", territory_id=424242)
    assert "territory" in raised.value.errors
    assert_counted(session, need, 0)


# --- the breakdown -----------------------------------------------------------------------


def _supporters(session: Session, need: Need, answers: list[tuple[str | None, int | None]]):
    for concern, territory_id in answers:
        supports.add_support(
            session, need, make_user(session), concern=concern, territory_id=territory_id
        )


def test_demand_breakdown_counts_per_concern_and_per_territory(session):
    merignac = make_territory(session)
    pessac = make_territory(session, slug="pessac", name="Pessac")
    need = make_need(session)
    _supporters(
        session,
        need,
        [
            ("has_need", merignac.id),
            ("has_need", merignac.id),
            ("has_need", pessac.id),
            ("would_use", None),
            ("org_could_support", pessac.id),
            (None, None),
        ],
    )
    demand = supports.demand_breakdown(session, need)
    assert demand["total"] == 6
    assert demand["unspecified"] == 1
    assert demand["by_concern"] == {
        "has_need": 3,
        "would_use": 1,
        "could_help": 0,
        "org_could_support": 1,
    }
    assert demand["by_territory"] == []

    staff = supports.demand_breakdown(session, need, by_territory=True)
    table = {row["territory"]: (row["total"], row["by_concern"]) for row in staff["by_territory"]}
    assert table["Mérignac"] == (2, {**dict.fromkeys(supports.CONCERNS, 0), "has_need": 2})
    assert table["Pessac"][0] == 2
    assert table["Pessac"][1]["org_could_support"] == 1
    assert table[None][0] == 2  # no territory given
    assert [row["territory"] for row in staff["by_territory"]][-1] is None


def test_public_sees_counts_per_concern_and_only_staff_sees_territories(client, session):
    merignac = make_territory(session)
    need = make_need(session)
    _supporters(
        session, need, [("has_need", merignac.id), ("has_need", None), ("could_help", None)]
    )

    signed_in(client, session)
    html = support(client, need, "add", htmx=True).text
    node = block(html, need)
    items = [li.text(strip=True) for li in node.css(".support-demand-list li")]
    assert items == ["2 personnes ont ce besoin", "1 personne pourrait aider"]
    assert node.css_first(".support-demand-staff") is None
    assert "Mérignac" not in node.css_first(".support-demand").text()

    signed_in(client, session, role="staff")
    html = support(client, need, "add", htmx=True).text
    table = block(html, need).css_first(".support-demand-staff table")
    assert table is not None
    cells = [[c.text(strip=True) for c in tr.css("th, td")] for tr in table.css("tbody tr")]
    assert cells[0] == ["Mérignac", "1", "1", "0", "0", "0"]
    assert cells[-1][0] == "Non précisé"


# --- trending ----------------------------------------------------------------------------


def test_trending_score_goes_up_by_the_weight_and_back_to_zero(session):
    need = make_need(session)
    first, second = make_user(session), make_user(session)

    assert supports.add_support(session, need, first) is True
    [row] = rows(session, need)
    weight = support_weight(row.created_at)
    assert reload(session, need).trending_score == pytest.approx(weight)

    supports.add_support(session, need, second)
    weights = sum(support_weight(r.created_at) for r in rows(session, need))
    assert reload(session, need).trending_score == pytest.approx(weights)

    supports.remove_support(session, reload(session, need), first)
    [left] = rows(session, need)
    assert reload(session, need).trending_score == pytest.approx(support_weight(left.created_at))

    supports.remove_support(session, reload(session, need), second)
    assert reload(session, need).trending_score == 0.0
    assert reload(session, need).supports_count == 0


def test_a_withdrawal_takes_off_exactly_the_weight_its_support_added(session):
    """The score after a withdrawal is, to the bit, what Python's arithmetic gives with
    support_weight() of the deleted row's own date. Dates far apart, down to the microsecond,
    both sides of the epoch."""
    need = make_need(session)
    people = [make_user(session) for _ in range(4)]
    for person in people:
        supports.add_support(session, need, person)
    given = [
        utcnow() - timedelta(days=900, microseconds=7),
        utcnow() - timedelta(days=3, seconds=11, microseconds=999_999),
        utcnow() + timedelta(microseconds=1),
        utcnow() - timedelta(days=2000, microseconds=123_457),  # before the epoch
    ]
    for person, when in zip(people, given, strict=True):
        row = session.exec(select(Support).where(Support.user_id == person.id)).one()
        row.created_at = when
        session.add(row)
    score = sum(support_weight(when) for when in given)
    session.execute(update(Need).where(Need.id == need.id).values(trending_score=score))  # type: ignore[arg-type]
    session.commit()
    assert reload(session, need).trending_score == score

    for person, when in zip(people[:3], given[:3], strict=True):
        supports.remove_support(session, reload(session, need), person)
        score = score - support_weight(when) if score - support_weight(when) > 0 else 0.0
        assert reload(session, need).trending_score == score  # exactly, not approximately
    supports.remove_support(session, reload(session, need), people[3])
    assert reload(session, need).trending_score == 0.0  # the last one goes: exactly zero


def test_the_instance_shows_the_new_counts_without_being_marked_changed(session):
    need = make_need(session)
    assert supports.add_support(session, need, make_user(session)) is True
    assert need.supports_count == 1
    assert need.trending_score > 0
    assert need not in session.dirty


# --- the service API used by other parts -------------------------------------------------


def test_add_and_remove_report_whether_anything_changed(session):
    need = make_need(session)
    user = make_user(session)
    assert supports.add_support(session, need, user) is True
    assert supports.add_support(session, need, user) is False
    assert supports.remove_support(session, need, user) is True
    assert supports.remove_support(session, need, user) is False
    assert supports.toggle_support(session, need, user) is True
    assert supports.toggle_support(session, need, user) is False
    assert supports.toggle_support(session, need, user, want=False) is False
    assert_counted(session, need, 0)


def test_author_support_joins_the_need_creation_transaction(session):
    """The need service inserts a need and calls add_support(commit=False) before its own
    commit: a rollback takes both away, a commit keeps both."""
    author = make_user(session)

    def new_need(title: str) -> Need:
        now = utcnow()
        need = Need(author_id=author.id, title=title, slug="x", created_at=now, updated_at=now)
        session.add(need)
        assert need.id is None  # not flushed yet: add_support must cope
        assert supports.add_support(session, need, author, concern="has_need", commit=False)
        return need

    new_need("Un besoin abandonné en route")
    session.rollback()
    assert fresh(session).exec(select(func.count()).select_from(Support)).one() == 0

    need = new_need("Un besoin publié pour de bon")
    session.commit()
    assert_counted(session, need, 1)
    assert rows(session, need)[0].concern == "has_need"


def test_the_author_can_withdraw_their_automatic_support(client, session):
    author = make_user(session)
    need = make_need(session, author=author)
    supports.add_support(session, need, author, concern="has_need")
    login_as(client, author, session)
    assert support(client, need, "remove").status_code == 303
    assert_counted(session, need, 0)


def test_user_supports_is_one_query_for_a_whole_page(app, session):
    user = make_user(session)
    needs = [make_need(session) for _ in range(12)]
    for need in needs[::3]:
        supports.add_support(session, need, user)

    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    ids = [n.id for n in needs]
    fresh(session)
    assert user.id  # loaded, as the signed-in user of a request is
    event.listen(app.state.engine, "before_cursor_execute", record)
    try:
        found = supports.user_supports(session, ids, user)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", record)
    assert found == {n.id for n in needs[::3]}
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert supports.user_supports(session, ids, None) == set()
    assert supports.user_supports(session, [], user) == set()


# --- the macro ---------------------------------------------------------------------------


def _render_block(session: Session, need: Need, user: Any) -> str:
    context = supports.support_context(session, need, user)
    context.update(need=need, csrf_token="t", current_user=user)
    return render_to_string("board/_support.html", context)


def test_anonymous_viewers_see_the_count_and_a_sign_in_link(session):
    need = make_need(session)
    supports.add_support(session, need, make_user(session))
    node = block(_render_block(session, reload(session, need), None), need)
    assert node.css_first("button") is None
    link = node.css_first("a")
    assert link.text(strip=True) == "Se connecter pour soutenir"
    assert link.attributes["href"] == f"/account/login?next=/needs/{need.id}-{need.slug}"
    assert node.css_first(".support-count").text(strip=True) == "1 soutien"


def test_the_button_label_stays_the_same_and_aria_pressed_tells_the_state(session):
    need = make_need(session)
    user = make_user(session)
    off = block(_render_block(session, need, user), need)
    supports.add_support(session, need, user)
    on = block(_render_block(session, reload(session, need), user), need)
    assert off.css_first("button").attributes["aria-pressed"] == "false"
    assert on.css_first("button").attributes["aria-pressed"] == "true"
    assert off.css_first(".support-label").text() == on.css_first(".support-label").text()
    assert on.css_first(".support-status") is not None
    assert off.css_first(".support-status") is None
