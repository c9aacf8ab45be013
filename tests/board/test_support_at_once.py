"""« Moi aussi » with the rate limits off, as the benchmarks run it and as an installation
behind its own limiter may: on PostgreSQL the toggle is then one statement in autocommit
(app.board.support_writes.toggle_at_once), on SQLite the same transaction as with the limits on.
Both ways in (the API's and the form's) must answer as the route does, keep every count and
trending score exact under concurrency, and write nothing on a need that stopped being
public while the toggle waited for its row."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from app.accounts import service as accounts
from app.board import support_form_path
from app.board.models import Need, Support
from app.board.trending import support_weight
from app.syndication import support_path
from tests.board.comment_helpers import count_statements
from tests.board.test_support_concurrency import N, assert_exact, run_together
from tests.factories import fresh, login_as, make_need, make_user, submit_form
from tests.support_spies import block_for_three_days, headers_of, spied

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def limits_off(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.settings, "rate_limits", "off")


def bearer(session, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {accounts.create_api_token(session, user, 'test')}"}


def postgresql(client: TestClient) -> bool:
    return client.app.state.engine.dialect.name == "postgresql"  # type: ignore[attr-defined]


def test_the_api_toggle_answers_as_the_route_in_two_statements_on_postgresql(
    client, session, monkeypatch
):
    need = make_need(session)
    headers = bearer(session, make_user(session))
    url = f"/api/v1/needs/{need.id}/support"
    client.put(url, headers=headers)  # the token's « last used » is written once, here
    client.delete(url, headers=headers)
    seen = spied(monkeypatch, support_path, "support_for")

    with count_statements(client.app.state.quick_engine) as statements:
        fast = [client.put(url, headers=headers) for _ in range(2)]
        fast += [client.delete(url, headers=headers) for _ in range(2)]
    assert seen["route"] == [] and all(answer is not None for answer in seen["way_in"])
    if postgresql(client):
        # The token's account, then the toggle: lock, write and count in one statement.
        assert len(statements) == 4 * 2, statements
        assert all("FOR UPDATE" in s for s in statements[1::2])

    monkeypatch.setattr(support_path, "support_for", lambda *a, **k: None)  # the route alone
    routed = [client.put(url, headers=headers) for _ in range(2)]
    routed += [client.delete(url, headers=headers) for _ in range(2)]
    assert seen["route"] == ["add_support"] * 2 + ["remove_support"] * 2
    for one, other in zip(fast, routed, strict=True):
        assert (one.status_code, one.json()) == (other.status_code, other.json())
        assert headers_of(one) == headers_of(other)
    assert [r.json()["supports"] for r in fast] == [1, 1, 0, 0]


def test_only_the_toggles_commit_without_waiting_for_the_disk_on_postgresql(app):
    """app.core.db.QUICK_WRITES_OPTIONS: the toggles' own pool commits asynchronously, like
    SQLite's synchronous=NORMAL; everything else keeps PostgreSQL's durable default. On
    SQLite the toggles share the one engine (and its writer turns)."""
    quick, main = app.state.quick_engine, app.state.engine
    if main.dialect.name == "sqlite":
        assert quick is main
        return
    assert quick is not main
    with quick.connect() as db:
        assert db.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    with main.connect() as db:
        assert db.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_a_withdrawal_takes_away_the_weight_of_the_support_it_deletes(client, session):
    need = make_need(session)
    first, second = (bearer(session, make_user(session)) for _ in range(2))
    url = f"/api/v1/needs/{need.id}/support"
    assert client.put(url, headers=first).json()["supports"] == 1
    assert client.put(url, headers=second).json()["supports"] == 2
    assert client.delete(url, headers=first).json()["supports"] == 1

    db = fresh(session)
    rows = db.exec(select(Support).where(Support.need_id == need.id)).all()
    stored = db.get(Need, need.id)
    assert stored is not None and stored.supports_count == len(rows) == 1
    assert stored.trending_score == pytest.approx(support_weight(rows[0].created_at), rel=1e-12)

    assert client.delete(url, headers=second).json()["supports"] == 0
    stored = fresh(session).get(Need, need.id)
    assert stored is not None and stored.trending_score == 0.0  # no rounding residue


@pytest.mark.parametrize("case", ["hidden need", "blocked account", "unconfirmed account"])
def test_what_the_toggle_may_not_do_goes_to_the_route_with_nothing_written(
    client, session, monkeypatch, case
):
    need = make_need(session, status="hidden" if case == "hidden need" else "published")
    user = make_user(session, verified=case != "unconfirmed account")
    headers = bearer(session, user)
    if case == "blocked account":
        block_for_three_days(session, user)
    seen = spied(monkeypatch, support_path, "support_for")
    response = client.put(f"/api/v1/needs/{need.id}/support", headers=headers)
    assert response.status_code == (404 if case == "hidden need" else 403), response.text
    assert all(answer is None for answer in seen["way_in"])
    assert fresh(session).exec(select(Support)).all() == []


def test_a_need_hidden_while_the_toggle_waits_for_its_row_gets_nothing(client, session):
    """A moderator holds the need's row (PostgreSQL: its row lock; SQLite: the write turn)
    and hides it; the toggle that waited then finds it no longer public: the route's 404,
    no support written, the count untouched."""
    need = make_need(session)
    headers = bearer(session, make_user(session))
    engine = client.app.state.engine
    answers: list = []  # type: ignore[type-arg]
    with engine.connect() as moderator:
        moderator.execute(
            text("UPDATE needs SET status = 'hidden' WHERE id = :id"), {"id": need.id}
        )
        toggle = threading.Thread(
            target=lambda: answers.append(
                client.put(f"/api/v1/needs/{need.id}/support", headers=headers)
            )
        )
        toggle.start()
        toggle.join(timeout=0.5)  # not a synchronisation: the toggle must still be waiting
        assert toggle.is_alive() and answers == []
        moderator.commit()
    toggle.join(timeout=30)
    assert [r.status_code for r in answers] == [404]
    db = fresh(session)
    assert db.exec(select(Support)).all() == []
    stored = db.get(Need, need.id)
    assert stored is not None and stored.supports_count == 0


def test_many_accounts_toggling_through_the_api_at_once_keep_the_count_exact(app, session):
    need = make_need(session)
    tokens = [bearer(session, make_user(session)) for _ in range(N)]
    browsers = [TestClient(app, base_url="http://testserver") for _ in range(N)]
    url = f"/api/v1/needs/{need.id}/support"

    def work(i: int, barrier: threading.Barrier) -> list[int]:
        barrier.wait()
        call = browsers[i]
        return [
            call.request(method, url, headers=tokens[i]).status_code
            for method in ("PUT", "DELETE", "PUT", "PUT", "DELETE", "PUT")
        ]

    try:
        assert run_together(N, work) == [[200] * 6] * N
    finally:
        for browser in browsers:
            browser.close()
    assert_exact(app.state.engine, need.id, N)


def test_one_account_clicking_many_times_at_once_counts_once(app, session):
    need = make_need(session)
    headers = bearer(session, make_user(session))
    browsers = [TestClient(app, base_url="http://testserver") for _ in range(N)]
    url = f"/api/v1/needs/{need.id}/support"

    def press(method: str):  # type: ignore[no-untyped-def]
        def work(i: int, barrier: threading.Barrier) -> tuple[int, int]:
            barrier.wait()
            answer = browsers[i].request(method, url, headers=headers)
            return answer.status_code, answer.json()["supports"]

        return work

    try:
        assert run_together(N, press("PUT")) == [(200, 1)] * N
        assert_exact(app.state.engine, need.id, 1)
        assert run_together(N, press("DELETE")) == [(200, 0)] * N
        assert_exact(app.state.engine, need.id, 0)
    finally:
        for browser in browsers:
            browser.close()


def test_the_form_answers_as_the_route_with_the_person_and_the_toggle_in_two_statements(
    client, session, monkeypatch
):
    need = make_need(session)
    login_as(client, make_user(session), session)
    page = f"/needs/{need.id}-{need.slug}"
    seen = spied(monkeypatch, support_form_path, "support_by_form")

    def press() -> list:  # type: ignore[type-arg]
        # give and withdraw with htmx, then give and withdraw without JavaScript
        done = []
        for headers in (HTMX, HTMX, {}, {}):
            html = client.get(page).text
            with count_statements(client.app.state.quick_engine) as statements:
                done.append(
                    submit_form(
                        client, page, f"/needs/{need.id}/support", html=html, headers=headers
                    )
                )
            done[-1].statements = statements  # type: ignore[attr-defined]
        return done

    fast = press()
    assert seen["route"] == [] and all(answer is not None for answer in seen["way_in"])
    if postgresql(client):
        # The person, the toggle, then (htmx) the block's reads.
        assert [len(r.statements) for r in fast] == [3, 3, 2, 2]
    monkeypatch.setattr(support_form_path, "support_by_form", lambda *a, **k: None)
    routed = press()
    assert seen["route"] == ["add_support", "remove_support"] * 2
    for one, other in zip(fast, routed, strict=True):
        assert (one.status_code, one.text) == (other.status_code, other.text)
        assert headers_of(one) == headers_of(other)
    assert 'aria-pressed="true"' in fast[0].text and fast[2].status_code == 303
    assert fresh(session).exec(select(Support)).all() == []
