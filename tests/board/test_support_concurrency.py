"""Supports stay exact when many people support and withdraw at the same moment (issue 3,
item 4). Run on SQLite and, with --db=postgres, on PostgreSQL.

Each scenario starts its threads together on a barrier, then checks that the need's stored
`supports_count` equals the number of support rows and the expected number, and that its
trending score is the sum of the remaining supports' weights.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.board import supports
from app.board.models import Need, Support
from app.board.trending import support_weight
from tests.factories import csrf_token, login_as, make_need, make_user

N = 20
BARRIER_TIMEOUT = 60  # seconds: a broken run fails instead of hanging


def run_together(count: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """Runs work(i, barrier) in `count` threads; each calls barrier.wait() when ready to race.
    Exceptions raised in a thread are raised here."""
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(count)]
        return [f.result() for f in futures]


def assert_exact(engine: Any, need_id: int, expected: int) -> None:
    with Session(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None
        rows = db.exec(select(Support).where(Support.need_id == need_id)).all()
        assert len(rows) == expected
        assert need.supports_count == expected
        weights = sum(support_weight(r.created_at) for r in rows)
        assert need.trending_score == pytest.approx(weights, rel=1e-9, abs=1e-9)


def thread_session(engine: Any, need_id: int, user_id: int) -> tuple[Session, Need, User]:
    """A thread's own session with its need and account loaded; the connection is given back
    to the pool before the race, so no thread waits for a connection held at the barrier."""
    db = Session(engine, expire_on_commit=False)
    need, user = db.get(Need, need_id), db.get(User, user_id)
    assert need is not None and user is not None
    db.rollback()
    return db, need, user


def test_many_accounts_support_withdraw_and_support_again_at_once(app, session):
    engine = app.state.engine
    need_id = make_need(session).id
    user_ids = [make_user(session).id for _ in range(N)]

    def work(i: int, barrier: threading.Barrier) -> list[bool]:
        db, need, user = thread_session(engine, need_id, user_ids[i])
        with db:
            barrier.wait()
            return [
                supports.add_support(db, need, user),
                supports.remove_support(db, need, user),
                supports.add_support(db, need, user),
            ]

    results = run_together(N, work)
    assert results == [[True, True, True]] * N
    assert_exact(engine, need_id, N)


def test_one_account_clicking_many_times_at_once_counts_once(app, session):
    engine = app.state.engine
    need_id = make_need(session).id
    user_id = make_user(session).id

    def add(i: int, barrier: threading.Barrier) -> bool:
        db, need, user = thread_session(engine, need_id, user_id)
        with db:
            barrier.wait()
            return supports.add_support(db, need, user)

    def remove(i: int, barrier: threading.Barrier) -> bool:
        db, need, user = thread_session(engine, need_id, user_id)
        with db:
            barrier.wait()
            return supports.remove_support(db, need, user)

    assert sorted(run_together(N, add)) == [False] * (N - 1) + [True]
    assert_exact(engine, need_id, 1)
    assert sorted(run_together(N, remove)) == [False] * (N - 1) + [True]
    assert_exact(engine, need_id, 0)


def test_concurrent_flips_and_answers_leave_count_and_rows_in_agreement(app, session):
    """Half the threads add then answer, half flip twice: whatever the interleaving, the
    stored count is the number of rows."""
    engine = app.state.engine
    need_id = make_need(session).id
    user_ids = [make_user(session).id for _ in range(N // 2)]

    def work(i: int, barrier: threading.Barrier) -> None:
        db, need, user = thread_session(engine, need_id, user_ids[i % len(user_ids)])
        with db:
            barrier.wait()
            if i < len(user_ids):
                supports.add_support(db, need, user)
                supports.set_concern(db, need, user, "has_need")
            else:
                supports.toggle_support(db, need, user)
                supports.toggle_support(db, need, user)

    run_together(N, work)
    with Session(engine) as db:
        rows = db.exec(select(func.count()).select_from(Support)).one()
    assert_exact(engine, need_id, rows)


def test_concurrent_http_requests_keep_the_count_exact(app, session):
    """The same race through the routes: one browser (TestClient) per account, all posting
    « Moi aussi », then withdrawing, then supporting again, together."""
    engine = app.state.engine
    need = make_need(session)
    browsers: list[tuple[TestClient, str]] = []
    for _ in range(N):
        browser = TestClient(app, base_url="http://testserver")
        login_as(browser, make_user(session), session)
        browsers.append((browser, csrf_token(browser)))

    def work(i: int, barrier: threading.Barrier) -> list[int]:
        browser, token = browsers[i]
        barrier.wait()
        return [
            browser.post(
                f"/needs/{need.id}/support",
                data={"csrf_token": token, "action": action},
                follow_redirects=False,
            ).status_code
            for action in ("add", "remove", "add")
        ]

    try:
        statuses = run_together(N, work)
    finally:
        for browser, _token in browsers:
            browser.close()
    assert statuses == [[303, 303, 303]] * N
    assert_exact(engine, need.id, N)


def test_concurrent_htmx_double_clicks_from_one_browser_count_once(app, session):
    need = make_need(session)
    user = make_user(session)
    browsers = []
    for _ in range(N):
        browser = TestClient(app, base_url="http://testserver")
        login_as(browser, user, session)
        browsers.append((browser, csrf_token(browser)))

    def work(i: int, barrier: threading.Barrier) -> int:
        browser, token = browsers[i]
        barrier.wait()
        return browser.post(
            f"/needs/{need.id}/support",
            data={"csrf_token": token, "action": "add"},
            headers={"HX-Request": "true"},
        ).status_code

    try:
        assert run_together(N, work) == [200] * N
    finally:
        for browser, _token in browsers:
            browser.close()
    assert_exact(app.state.engine, need.id, 1)
