"""« Moi aussi » through the API answered before routing (app/syndication/support_path.py):
the same answer and the same rows as the route, in one transaction, and the route itself for
everything that is not a plain success."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.accounts import service as accounts
from app.board.models import Need, Support
from app.core.db import TurnTaken
from app.core.ratelimit import LIMITS, RateEvent
from app.syndication import support_path
from tests.board.comment_helpers import count_statements
from tests.factories import fresh, make_need, make_user
from tests.support_spies import block_for_three_days, headers_of, spied


def bearer(session, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {accounts.create_api_token(session, user, 'test')}"}


def test_a_toggle_is_answered_before_routing_exactly_as_the_route_answers(
    client, session, monkeypatch
):
    need = make_need(session)
    alice = make_user(session)
    headers = bearer(session, alice)
    url = f"/api/v1/needs/{need.id}/support"
    seen = spied(monkeypatch, support_path, "support_for")

    with count_statements(client.app.state.engine) as statements:
        fast = [client.put(url, headers=headers) for _ in range(2)]
        fast += [client.delete(url, headers=headers) for _ in range(2)]
    assert seen["route"] == [] and all(answer is not None for answer in seen["way_in"])
    # The token's account, the rate limits (two windows, account and address), the need's
    # row, the support and the count; the token's « last used » only on the first call.
    assert len(statements) <= 4 * 10, statements

    monkeypatch.setattr(support_path, "support_for", lambda *a, **k: None)  # the route alone
    routed = [client.put(url, headers=headers) for _ in range(2)]
    routed += [client.delete(url, headers=headers) for _ in range(2)]
    assert seen["route"] == ["add_support"] * 2 + ["remove_support"] * 2

    expected = [(True, 1), (True, 1), (False, 0), (False, 0)]
    for answers in (fast, routed):
        assert [(r.status_code, r.json()) for r in answers] == [
            (200, {"need_id": need.id, "supported": s, "supports": n}) for s, n in expected
        ]
    for one, other in zip(fast, routed, strict=True):
        assert headers_of(one) == headers_of(other)
    assert headers_of(fast[0])["cache-control"] == "no-store"
    assert headers_of(fast[0])["access-control-allow-origin"] == "*"


def test_counts_stay_exact_and_the_rate_limits_count_every_toggle(client, session, monkeypatch):
    need = make_need(session)
    people = [make_user(session) for _ in range(3)]
    seen = spied(monkeypatch, support_path, "support_for")
    for person in people:
        headers = bearer(session, person)
        assert (
            client.put(f"/api/v1/needs/{need.id}/support", headers=headers).json()["supports"]
            == people.index(person) + 1
        )
    client.delete(f"/api/v1/needs/{need.id}/support", headers=headers)
    assert seen["route"] == []

    db = fresh(session)
    stored = db.get(Need, need.id)
    rows = db.exec(select(Support).where(Support.need_id == need.id)).all()
    assert stored is not None and stored.supports_count == len(rows) == 2
    assert stored.trending_score > 0
    # Two rows per toggle (the account's and the address's), as the route records them.
    events = db.exec(select(RateEvent.key)).all()
    assert len(events) == 2 * 4
    assert sum(key.startswith("support:user:") for key in events) == 4


def test_a_limit_reached_is_the_routes_429(client, session, monkeypatch):
    need = make_need(session)
    headers = bearer(session, make_user(session))
    url = f"/api/v1/needs/{need.id}/support"
    limit = LIMITS["support"][0][1]
    for n in range(limit):
        assert (client.put if n % 2 == 0 else client.delete)(
            url, headers=headers
        ).status_code == 200
    seen = spied(monkeypatch, support_path, "support_for")
    response = client.put(url, headers=headers)
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert "un peu vite" in response.json()["detail"]
    assert seen["way_in"] == [None]
    assert fresh(session).exec(select(Support)).all() == []


def _revoked(session, user):  # type: ignore[no-untyped-def]
    for token in accounts.list_api_tokens(session, user):
        accounts.revoke_api_token(session, user, token.id)


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("no token", 401, "jeton d'accès personnel"),
        ("unknown token", 401, "n'est pas valable"),
        ("revoked token", 401, "n'est pas valable"),
        ("blocked account", 403, "Propos insultants"),
        ("unconfirmed account", 403, "Confirmez"),
        ("hidden need", 404, "n'existe pas"),
        ("unknown need", 404, "n'existe pas"),
        ("not an id", 404, "n'existe pas"),
    ],
)
def test_what_is_not_a_plain_success_gets_the_routes_answer(
    client, session, monkeypatch, case, status, words
):
    need = make_need(session, status="hidden" if case == "hidden need" else "published")
    user = make_user(session, verified=case != "unconfirmed account")
    headers = bearer(session, user)
    if case == "no token":
        headers = {}
    elif case == "unknown token":
        headers = {"Authorization": "Bearer pas-un-jeton"}
    elif case == "revoked token":
        _revoked(session, user)
    elif case == "blocked account":
        block_for_three_days(session, user)
    target = {"unknown need": "999999", "not an id": "abc"}.get(case, str(need.id))
    seen = spied(monkeypatch, support_path, "support_for")

    response = client.put(f"/api/v1/needs/{target}/support", headers=headers)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert all(answer is None for answer in seen["way_in"])
    assert fresh(session).exec(select(Support)).all() == []


def test_a_request_with_a_body_goes_to_the_route(client, session, monkeypatch):
    need = make_need(session)
    headers = bearer(session, make_user(session))
    seen = spied(monkeypatch, support_path, "support_for")
    response = client.put(f"/api/v1/needs/{need.id}/support", headers=headers, json={"x": 1})
    assert response.status_code == 200
    assert response.json()["supported"] is True
    assert seen == {"way_in": [], "route": ["add_support"]}


def other_writer(
    engine: Engine, need_id: int, release: threading.Event
) -> tuple[threading.Thread, threading.Event]:
    """Another writer, in a thread as another request would be (not started): it writes the
    need's row, sets the event it returns (held), and commits once `release` is set."""
    held = threading.Event()

    def write() -> None:
        with engine.connect() as other:
            other.execute(text("UPDATE needs SET status = status WHERE id = :id"), {"id": need_id})
            held.set()
            release.wait(timeout=30)
            other.commit()

    return threading.Thread(target=write), held


def test_a_toggle_waiting_for_the_database_never_stops_the_event_loop(client, session, monkeypatch):
    """Another writer holds what the toggle needs (SQLite: the write turn; PostgreSQL: the
    need's row): the toggle waits in a thread, other requests are answered meanwhile, and it
    goes through once the other writer commits."""
    need = make_need(session)
    headers = bearer(session, make_user(session))
    engine = client.app.state.engine
    calls: list[bool] = []
    waiting = threading.Event()
    real = support_path.support_for

    def way_in(*args, wait, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(wait)
        if wait:
            waiting.set()
        return real(*args, wait=wait, **kwargs)

    monkeypatch.setattr(support_path, "support_for", way_in)
    answers: list = []  # type: ignore[type-arg]
    with engine.connect() as other:
        if engine.dialect.name == "sqlite":
            other.execute(text("UPDATE needs SET status = status WHERE id = :id"), {"id": need.id})
        else:
            other.execute(text("SELECT id FROM needs WHERE id = :id FOR UPDATE"), {"id": need.id})
        toggle = threading.Thread(
            target=lambda: answers.append(
                client.put(f"/api/v1/needs/{need.id}/support", headers=headers)
            )
        )
        toggle.start()
        assert waiting.wait(timeout=30)
        assert client.get("/healthz").status_code == 200  # the loop answers meanwhile
        assert toggle.is_alive() and answers == []
        other.commit()
    toggle.join(timeout=30)
    assert [(r.status_code, r.json()["supports"]) for r in answers] == [(200, 1)]
    # SQLite tries on the loop first, again while the turn is taken, then waits in a thread;
    # PostgreSQL goes to a thread at once.
    if engine.dialect.name == "sqlite":
        assert len(calls) >= 2 and not any(calls[:-1]) and calls[-1] is True
    else:
        assert calls == [True]


def test_a_turn_freed_soon_is_taken_on_the_event_loop(client, session, monkeypatch):
    """SQLite: another writer has the turn when the toggle first tries, and gives it back
    right after; the toggle tries again on the loop and writes there, with no thread."""
    need = make_need(session)
    headers = bearer(session, make_user(session))
    engine = client.app.state.engine
    calls: list[bool] = []
    release = threading.Event()
    writer, held = other_writer(engine, need.id, release)
    real = support_path.support_for

    def way_in(*args, wait, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(wait)
        try:
            return real(*args, wait=wait, **kwargs)
        except TurnTaken:
            release.set()  # the other writer commits: the next try finds the turn free
            writer.join(timeout=30)
            raise

    monkeypatch.setattr(support_path, "support_for", way_in)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:  # PostgreSQL has no turns: its toggle would only wait for the row
        writer.start()
        assert held.wait(timeout=30)
    try:
        response = client.put(f"/api/v1/needs/{need.id}/support", headers=headers)
    finally:
        release.set()
        if sqlite:
            writer.join(timeout=30)
    assert (response.status_code, response.json()["supports"]) == (200, 1)
    assert calls == ([False, False] if sqlite else [True])  # PostgreSQL: in a thread


def test_a_write_that_may_not_wait_writes_nothing_when_the_turn_is_taken(app, session):
    """SQLite's writer turns (app.core.db.WriterTurns) with NO_WAIT: TurnTaken, nothing written.
    On PostgreSQL there are no turns, and the call waits for the row like any write."""
    engine = app.state.engine
    need = make_need(session)
    raw = accounts.create_api_token(session, make_user(session), "test")
    scope = {"app": app, "client": ("127.0.0.1", 5000)}
    done = threading.Event()
    writer, held = other_writer(engine, need.id, done)
    writer.start()
    try:
        assert held.wait(timeout=30)
        if getattr(engine, "writer_turns", None) is not None:
            with pytest.raises(TurnTaken):
                support_path.support_for(scope, need.id, raw, True, wait=False)
            assert fresh(session).exec(select(Support)).all() == []
    finally:
        done.set()
        writer.join(timeout=30)
    answer = support_path.support_for(scope, need.id, raw, True, wait=False)
    assert answer is not None and answer.status_code == 200
    assert len(fresh(session).exec(select(Support)).all()) == 1
