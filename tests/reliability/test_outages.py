"""The database going away under a serving site (issue 18, item 2).

PostgreSQL: a server of the test's own (tests/reliability/faults.py) is stopped while
`bourse serve --workers 2` serves, then started again. Meanwhile /readyz answers 503, pages a
French 503 page and the API a problem+json 503, each with Retry-After, never a stack trace;
once the database is back, every worker serves again by itself within seconds (measured and
printed), with the same processes: nothing restarted.

SQLite: another process holds a write transaction on the file (a foreign program, or one of
the app's own commands). Reads go on (WAL); a write waits at most the busy timeout, then gets
a 503 page or problem+json, not a 500; once the writer commits, writes pass again.

Each runs in the run of its own engine (`make test-long` runs both): the PostgreSQL outage
with --db=postgres, the SQLite lock with the default run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.core.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from app.ops.cli import migrate_database
from tests.factories import make_need, make_user
from tests.reliability.faults import csrf_of, private_postgres, sign_in
from tests.serving import bourse_process
from tests.web.helpers import html_lang, parse
from tests.web.test_workers import children

pytestmark = pytest.mark.long

# How long the site may take to serve again once PostgreSQL accepts connections.
RECOVERY_LIMIT_SECONDS = 10.0
# Enough requests, each on a new connection, that both workers answer some: the kernel hashes
# each connection to one of them, and one worker missed by 12 is a chance in 2,000.
REQUESTS_PER_CHECK = 12
BUSY_TIMEOUT = SQLITE_BUSY_TIMEOUT_MS / 1000
# What a request may take beyond the busy timeout on this shared 2-core machine.
MARGIN_SECONDS = 2.5


@dataclass
class Site:
    url: str
    need_id: int
    token: str
    browser: httpx.Client  # signed in through the login form
    csrf: str

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def form(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.browser.post(path, data={"csrf_token": self.csrf, "website": "", **data})


def seed(database_url: str) -> tuple[int, str, str]:
    """A published need, and a resident with a personal token: (need id, token, e-mail)."""
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        need = make_need(session, title="Une navette pour le marché du samedi")
        resident = make_user(session)
        token = accounts.create_api_token(session, resident, "outage")
        result = (need.id, token, resident.email)
    engine.dispose()
    return result


@contextmanager
def serving(tmp_path: Path, database_url: str, log: list[str]) -> Iterator[tuple[Site, int]]:
    """`bourse serve --workers 2` on the seeded database, with a browser signed in through the
    form: (the site, the supervisor's pid)."""
    need_id, token, email = seed(database_url)
    with (
        bourse_process(
            tmp_path,
            "--workers",
            "2",
            database_url=database_url,
            env={"BOURSE_RATE_LIMITS": "off"},
            output=log,
        ) as (process, url, _db),
        closing(sign_in(url, email)) as browser,
    ):
        csrf = csrf_of(browser, f"/needs/{need_id}")
        yield Site(url, need_id, token, browser, csrf), process.pid


def assert_french_503_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert int(response.headers["Retry-After"]) > 0
    assert html_lang(response) == "fr"
    assert parse(response).css_first("h1").text(strip=True) == "Service indisponible"
    assert "Traceback" not in response.text


def assert_problem_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Service indisponible"
    assert "Traceback" not in response.text


def timed(call: object, *args: object, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call(*args, **kwargs)  # type: ignore[operator]
    return response, time.monotonic() - started


# --- PostgreSQL stopped and started again ---------------------------------------------------


def serves(site: Site) -> bool:
    """One round on new connections: readiness, the board, a need, the API."""
    return (
        httpx.get(f"{site.url}/readyz", timeout=10).status_code == 200
        and httpx.get(f"{site.url}/", timeout=10).status_code == 200
        and httpx.get(f"{site.url}/needs/{site.need_id}", timeout=10).status_code in (200, 301)
        and httpx.get(f"{site.url}/api/v1/needs", timeout=10).status_code == 200
    )


def recovery_seconds(site: Site, since: float) -> float:
    """Seconds from `since` to the first of REQUESTS_PER_CHECK rounds in a row that all
    served: from then on every worker answers every kind of request."""
    deadline = since + 60
    first_good, good = since, 0
    while good < REQUESTS_PER_CHECK:
        started = time.monotonic()
        if serves(site):
            first_good = started if good == 0 else first_good
            good += 1
        else:
            good = 0
        if time.monotonic() > deadline:
            pytest.fail("the site did not serve again within 60 s of the database's return")
    return first_good - since


def test_postgresql_stopped_then_started_gives_503s_then_recovers_without_a_restart(
    db_engine_name: str, tmp_path: Path
) -> None:
    if db_engine_name != "postgres":
        return  # this outage is PostgreSQL's: it runs with --db=postgres (make test-long)
    log: list[str] = []
    with private_postgres() as postgres:
        database_url = postgres.create_database("bourse_outage")
        migrate_database(database_url)
        with serving(tmp_path, database_url, log) as (site, supervisor):
            workers = children(supervisor)
            for _ in range(REQUESTS_PER_CHECK):
                assert serves(site)

            postgres.stop()
            for _ in range(REQUESTS_PER_CHECK):
                ready, seconds = timed(httpx.get, f"{site.url}/readyz", timeout=30)
                assert ready.status_code == 503
                assert ready.json() == {"status": "unavailable", "database": "unreachable"}
                assert seconds < 5
                assert_french_503_page(httpx.get(f"{site.url}/", timeout=30))
                assert_french_503_page(httpx.get(f"{site.url}/needs/{site.need_id}", timeout=30))
                assert_problem_503(httpx.get(f"{site.url}/api/v1/needs", timeout=30))
                for _label, check, write in write_attempts(site):
                    check(write())
            assert httpx.get(f"{site.url}/healthz", timeout=10).status_code == 200

            postgres.start()
            recovery = recovery_seconds(site, since=time.monotonic())
            print(f"\nPostgreSQL back: the site served again after {recovery:.2f} s")
            assert recovery < RECOVERY_LIMIT_SECONDS

            created = site.api(
                "POST", "/api/v1/needs", json={"title": "Un atelier vélo après la panne"}
            )
            assert created.status_code == 201
            supported = site.form(f"/needs/{site.need_id}/support", {"action": "add"})
            assert supported.status_code == 303  # back to the need, as a browser without htmx

            # Restarted between two requests (a minor upgrade): every pooled connection is
            # dead, and the first request on one meets it; the pool then connects afresh.
            postgres.stop()
            postgres.start()
            recovery = recovery_seconds(site, since=time.monotonic())
            print(f"PostgreSQL restarted between two requests: served again after {recovery:.2f} s")
            assert recovery < RECOVERY_LIMIT_SECONDS
            assert children(supervisor) == workers  # the same processes: nothing restarted
    # The outage is logged in a line per request, without a stack trace.
    assert not [line for line in log if "Traceback" in line], "".join(log)[-3000:]


# --- SQLite locked by a long writer ---------------------------------------------------------

# Holds a write transaction on the file until told to commit: a foreign program (sqlite3 on
# its own, as the sqlite3 shell or a backup script would) or one of the app's own commands
# (its engine, which takes the writer turn first, app.core.db.WriterTurns).
LONG_WRITER = textwrap.dedent(
    """
    import sqlite3, sys

    path, kind = sys.argv[1], sys.argv[2]
    if kind == "foreign":
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE needs SET title = title")
        print("writing", flush=True)
        sys.stdin.readline()
        conn.execute("COMMIT")
    else:
        from sqlalchemy import text
        from app.core.db import make_engine

        with make_engine("sqlite:///" + path).connect() as conn:
            conn.execute(text("UPDATE needs SET title = title"))
            print("writing", flush=True)
            sys.stdin.readline()
            conn.commit()
    print("committed", flush=True)
    """
)


@contextmanager
def long_writer(path: Path, kind: str) -> Iterator[None]:
    writer = subprocess.Popen(
        [sys.executable, "-c", LONG_WRITER, str(path), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None and writer.stdout is not None
    try:
        assert writer.stdout.readline().strip() == "writing"
        yield
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "committed"
        assert writer.wait(timeout=10) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def write_attempts(
    site: Site,
) -> list[tuple[str, Callable[[httpx.Response], None], Callable[[], httpx.Response]]]:
    """A write through each way in, with what it answers while the database refuses it."""
    need = site.need_id
    return [
        (
            "API: a need",
            assert_problem_503,
            lambda: site.api("POST", "/api/v1/needs", json={"title": "Un jardin de quartier"}),
        ),
        (
            "API: « Moi aussi »",
            assert_problem_503,
            lambda: site.api("PUT", f"/api/v1/needs/{need}/support"),
        ),
        (
            "form: « Moi aussi »",
            assert_french_503_page,
            lambda: site.form(f"/needs/{need}/support", {"action": "add"}),
        ),
        (
            "form: a comment",
            assert_french_503_page,
            lambda: site.form(f"/needs/{need}/comments", {"body": "Bloqué ?"}),
        ),
    ]


@pytest.mark.parametrize("writer", ["foreign", "bourse"])
def test_sqlite_locked_by_a_long_writer_answers_503_within_the_busy_timeout(
    db_engine_name: str, tmp_path: Path, writer: str
) -> None:
    if db_engine_name != "sqlite":
        return  # SQLite's lock: it runs in the default run (make test-long)
    path = tmp_path / "locked.sqlite3"
    migrate_database(f"sqlite:///{path}")
    log: list[str] = []
    with serving(tmp_path, f"sqlite:///{path}", log) as (site, _supervisor):
        with long_writer(path, writer):
            # Readers are not blocked by a writer (WAL).
            for _ in range(4):
                board, seconds = timed(httpx.get, f"{site.url}/", timeout=30)
                assert board.status_code == 200
                assert seconds < 2
            assert httpx.get(f"{site.url}/readyz", timeout=30).status_code == 200
            waits = {}
            for label, check, write in write_attempts(site):
                response, seconds = timed(write)
                check(response)
                waits[label] = seconds
                print(f"\n{writer} writer: {label} answered 503 after {seconds:.2f} s")
            assert max(waits.values()) <= BUSY_TIMEOUT + MARGIN_SECONDS, waits
        # The writer has committed: writes pass again, at once.
        for _label, _check, write in write_attempts(site):
            response, seconds = timed(write)
            assert response.status_code in (200, 201, 303), response.text[:500]
            assert seconds < 2
    assert not [line for line in log if "Traceback" in line], "".join(log)[-3000:]
