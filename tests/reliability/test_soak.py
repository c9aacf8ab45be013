"""A soak (issue 18, item 7): twenty minutes of mixed load on `bourse serve --workers 2`, on
SQLite and on PostgreSQL at the same time (two servers, each with its own load, so that CI pays
the twenty minutes once). `make soak` runs it; SOAK_MINUTES=3 makes a shorter run for a
developer (CI runs the default).

Each server gets, from its own threads, until the time is up: anonymous readers (the board in
its sorts, need pages, the API, a feed, the embed), signed-in residents (the board, need pages,
their account and notifications, supports given and withdrawn through the form and the API,
comments posted through the form and the API) and a moderator (the queue, need pages,
comments hidden, restored or approved from the need page). Rate limits are off, as for any
load test from one address (BOURSE_RATE_LIMITS=off): the load is bounded by its threads, each
sending a request when the last one is answered.

What must hold at the end, on both engines:
- memory: each worker's RSS plateau at the end is within TOLERANCE (10 %) above its plateau
  after two minutes. A plateau is the median of the worker's RSS (VmRSS in /proc, sampled every
  SAMPLE_SECONDS) over the PLATEAU_SECONDS before that moment: the median ignores the moment a
  large page is being rendered. Shorter runs take their reference halfway.
- no error: every answer is the one its request should get (never a 5xx), no ERROR line or
  traceback in the server's log, and the same worker processes at the end as at the start;
- counts: every need's supports_count and comments_count equal to a recount from the rows.

The figures are printed (run with -s) and written down in README « Reliability ».
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func, select
from sqlmodel import Session

from app.accounts import service as accounts
from app.board.models import Comment, CommentStatus, Need, Support
from app.core.db import make_engine
from app.ops.cli import migrate_database
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import make_need, make_user, read_form
from tests.reliability.browsers import Client, fill_in
from tests.serving import bourse_process
from tests.web.test_workers import children

pytestmark = pytest.mark.soak

MINUTES = float(os.environ.get("SOAK_MINUTES", "20"))
SAMPLE_SECONDS = 5.0
PLATEAU_SECONDS = 30.0
REFERENCE_SECONDS = 120.0  # "after two minutes"
TOLERANCE = 0.10
NEEDS = 40
RESIDENTS = 6
# Threads per server: anonymous readers, signed-in residents, and one moderator.
READERS = 2
RESIDENT_THREADS = 2
# Log lines that are an error whatever they say.
ERROR_MARKS = ("ERROR", "CRITICAL", "Traceback")


# --- One server and what it is loaded with ----------------------------------------------------


@dataclass
class Cast:
    """The people of one database: needs to act on, residents with a session and a token, a
    moderator with a session."""

    needs: list[tuple[int, str]]  # (id, slug)
    residents: list[tuple[str, str]]  # (session, token)
    moderator: str


def seed(database_url: str) -> Cast:
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        owner = make_user(session)
        needs = []
        for n in range(NEEDS):
            need = make_need(session, author=owner, title=f"Un besoin du quartier numéro {n}")
            needs.append((need.id, need.slug))
        residents = []
        for _ in range(RESIDENTS):
            person = make_user(session)
            residents.append(
                (
                    accounts.start_session(session, person),
                    accounts.create_api_token(session, person, "soak"),
                )
            )
        moderator = accounts.start_session(session, make_user(session, role="moderator"))
    engine.dispose()
    return Cast(needs, residents, moderator)  # type: ignore[arg-type]


@dataclass
class Tally:
    """What one server answered, per kind of request."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # unexpected answers, described
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, response: httpx.Response, expected: int) -> None:
        with self.lock:
            self.answers[kind, response.status_code] += 1
            if response.status_code != expected and len(self.wrong) < 20:
                self.wrong.append(
                    f"{kind}: {response.request.method} {response.request.url.path} → "
                    f"{response.status_code} (expected {expected})"
                )

    @property
    def total(self) -> int:
        return sum(self.answers.values())

    def errors(self) -> int:
        return sum(n for (_kind, status), n in self.answers.items() if status >= 500)


class Load:
    """The threads loading one server until `deadline` (time.monotonic())."""

    def __init__(self, url: str, cast: Cast, deadline: float, seed_: int) -> None:
        self.url = url
        self.cast = cast
        self.deadline = deadline
        self.seed = seed_
        self.tally = Tally()
        self.failures: list[BaseException] = []
        # httpx clients may be shared between threads; each person keeps theirs (cookies,
        # kept-alive connections), as a browser does.
        self.anonymous = Client("192.0.2.10")
        self.browsers = [Client("192.0.2.20", session=s) for s, _t in cast.residents]
        self.scripts = [Client("192.0.2.20", token=t) for _s, t in cast.residents]
        self.staff = Client("192.0.2.30", session=cast.moderator)
        for browser in [*self.browsers, self.staff]:
            # A first page for the CSRF cookie: concurrent first visits get one each.
            assert browser.http.get(f"{url}/account").status_code == 200

    def close(self) -> None:
        for client in [self.anonymous, *self.browsers, *self.scripts, self.staff]:
            client.close()

    def threads(self) -> list[threading.Thread]:
        workers: list[Callable[[random.Random], None]] = [self.reader] * READERS
        workers += [self.resident] * RESIDENT_THREADS + [self.moderator]
        return [
            threading.Thread(target=self._run, args=(work, random.Random(self.seed + i)))
            for i, work in enumerate(workers)
        ]

    def _run(self, work: Callable[[random.Random], None], rng: random.Random) -> None:
        try:
            while time.monotonic() < self.deadline:
                work(rng)
        except BaseException as exc:  # reported by the test, which fails
            self.failures.append(exc)

    def _need_page(self, rng: random.Random) -> tuple[int, str]:
        need_id, slug = rng.choice(self.cast.needs)
        return need_id, f"{self.url}/needs/{need_id}-{slug}"

    def _get(self, client: Client, kind: str, url: str) -> None:
        self.tally.note(kind, client.http.get(url), 200)

    # Anonymous visitors.
    def reader(self, rng: random.Random) -> None:
        client = self.anonymous
        need_id, page = self._need_page(rng)
        sort = rng.choice(("recent", "top", "trending", "discussed"))
        url = rng.choice(
            (
                f"{self.url}/?sort={sort}",
                page,
                f"{self.url}/api/v1/needs?limit=20&sort={sort}",
                f"{self.url}/api/v1/needs/{need_id}",
                f"{self.url}/feeds/needs.atom",
                f"{self.url}/embed/needs?limit=5",
            )
        )
        self._get(client, "anonymous read", url)

    # Signed-in residents: reads, supports, comments.
    def resident(self, rng: random.Random) -> None:
        person = rng.randrange(len(self.cast.residents))
        browser, script = self.browsers[person], self.scripts[person]
        need_id, page = self._need_page(rng)
        roll = rng.random()
        if roll < 0.55:
            own = rng.choice(("/", "/account", "/account/notifications"))
            url = rng.choice((self.url + own, page))
            self._get(browser, "signed-in read", url)
        elif roll < 0.75:
            # « Moi aussi » or its withdrawal, whichever the page offers now.
            answer = fill_in(browser, page, self.url, f"/needs/{need_id}/support")
            self.tally.note("support (form)", answer, 303)
        elif roll < 0.97:
            method = rng.choice(("PUT", "DELETE"))
            answer = script.http.request(method, f"{self.url}/api/v1/needs/{need_id}/support")
            self.tally.note("support (API)", answer, 200)
        elif roll < 0.985:
            body = {"body": f"Un commentaire du soak, tiré {rng.random():.6f}."}
            answer = fill_in(
                browser,
                page,
                self.url,
                f"/needs/{need_id}/comments",
                body,
                form_selector=f"#comment-form-{need_id}",
            )
            self.tally.note("comment (form)", answer, 303)
        else:
            answer = script.http.post(
                f"{self.url}/api/v1/needs/{need_id}/comments",
                json={"body": f"Un commentaire du soak par l'API, tiré {rng.random():.6f}."},
            )
            self.tally.note("comment (API)", answer, 201)

    # The moderator: the queue, need pages, decisions on comments from the need page.
    def moderator(self, rng: random.Random) -> None:
        client = self.staff
        if rng.random() < 0.3:
            self._get(client, "moderation read", f"{self.url}/moderation/queue")
            return
        _need_id, page = self._need_page(rng)
        rendered = client.http.get(page)
        self.tally.note("moderation read", rendered, 200)
        forms = LexborHTMLParser(rendered.text).css("form.comment-moderation")
        # A decision on one visit in three: a moderator reads more than they decide.
        if rendered.status_code != 200 or not forms or rng.random() > 1 / 3:
            return
        form = rng.choice(forms)
        action = form.attributes.get("action") or ""
        _method, values, _names = read_form(form.html or "", action)
        reasons = [
            option.attributes.get("value")
            for option in form.css("select[name=reason] option")
            if option.attributes.get("value")
        ]
        if values.get("decision") == "hide":
            values["reason"] = rng.choice(reasons)
            values["detail"] = "Hors sujet pour ce besoin."  # « other » needs one
        answer = client.http.post(self.url + action, data=values)
        self.tally.note(f"moderation {values.get('decision')}", answer, 303)


# --- Memory ------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise FileNotFoundError(pid)  # a zombie: ended


@dataclass
class Memory:
    """RSS samples of workers: (seconds since the start, KiB) per pid."""

    samples: dict[int, list[tuple[float, int]]] = field(default_factory=dict)

    def sample(self, pids: list[int], at: float) -> None:
        for pid in pids:
            # A worker that died has no RSS: the test says so at the end.
            with suppress(FileNotFoundError):
                self.samples.setdefault(pid, []).append((at, rss_kib(pid)))

    def plateau(self, pid: int, at: float) -> float:
        """The median RSS (MiB) of `pid` over the PLATEAU_SECONDS before `at`."""
        window = [kib for t, kib in self.samples[pid] if at - PLATEAU_SECONDS < t <= at]
        assert window, f"no sample of {pid} before {at:.0f} s"
        return statistics.median(window) / 1024


# --- The soak ----------------------------------------------------------------------------------


@contextmanager
def databases(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database of each engine: a SQLite file, and one on the test PostgreSQL."""
    sqlite = f"sqlite:///{tmp_path / 'soak.sqlite3'}"
    migrate_database(sqlite)
    postgres = create_pg_database("bourse_soak")
    try:
        migrate_database(postgres)
        yield {"SQLite": sqlite, "PostgreSQL": postgres}
    finally:
        drop_pg_database(postgres)


def counts_differing(database_url: str) -> tuple[int, list[str]]:
    """(needs checked, those whose stored counts differ from a recount of the rows)."""
    supports = (
        select(func.count()).where(Support.need_id == Need.id).scalar_subquery()  # type: ignore[arg-type]
    )
    comments = (
        select(func.count())
        .where(
            Comment.need_id == Need.id,  # type: ignore[arg-type]
            Comment.status == CommentStatus.published.value,  # type: ignore[arg-type]
            Comment.deleted_at.is_(None),  # type: ignore[union-attr]
        )
        .scalar_subquery()
    )
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Need.id, Need.supports_count, supports, Need.comments_count, comments)
            ).all()
    finally:
        engine.dispose()
    wrong = [
        f"need {n}: supports {s} stored, {s_real} rows; comments {c} stored, {c_real} rows"
        for n, s, s_real, c, c_real in rows
        if s != s_real or c != c_real
    ]
    return len(rows), wrong


@dataclass
class Server:
    url: str
    serve_pid: int
    workers: list[int]
    log: list[str]
    database_url: str


def test_twenty_minutes_of_mixed_load_on_both_engines_leave_flat_memory_no_error_exact_counts(
    tmp_path,
):
    duration = MINUTES * 60
    reference = min(REFERENCE_SECONDS, duration / 2)
    with databases(tmp_path) as urls, ExitStack() as stack:
        servers: dict[str, Server] = {}
        casts: dict[str, Cast] = {}
        for name, database_url in urls.items():
            home = tmp_path / name
            home.mkdir()
            casts[name] = seed(database_url)
            log: list[str] = []
            process, url, _db = stack.enter_context(
                bourse_process(
                    home,
                    "--workers",
                    "2",
                    database_url=database_url,
                    env={"BOURSE_RATE_LIMITS": "off"},
                    output=log,
                )
            )
            servers[name] = Server(
                url, process.pid, sorted(children(process.pid)), log, database_url
            )

        loads: dict[str, Load] = {}
        started = time.monotonic()
        deadline = started + duration
        for i, (name, server) in enumerate(servers.items()):
            loads[name] = Load(server.url, casts[name], deadline, seed_=100 * i)
            stack.callback(loads[name].close)
        threads = [thread for load in loads.values() for thread in load.threads()]
        for thread in threads:
            thread.start()
        memory = Memory()
        workers = [pid for server in servers.values() for pid in server.workers]
        # To the end even when a load thread failed (it is reported): the others go on, and
        # the memory figures stay whole.
        while time.monotonic() < deadline:
            memory.sample(workers, time.monotonic() - started)
            # The sampling's pace, not a synchronisation: nothing waits for it.
            time.sleep(SAMPLE_SECONDS)
        memory.sample(workers, time.monotonic() - started)
        for thread in threads:
            thread.join()
        ended = time.monotonic() - started

        figures = [f"soak: {ended / 60:.1f} min on both engines at once"]
        problems: list[str] = []
        for name, server in servers.items():
            problems += check_server(name, server, loads[name], memory, reference, ended, figures)
        print("\n" + "\n".join(figures))
        if problems:
            for name, server in servers.items():
                # What the server said besides its access log.
                said = [line for line in server.log if 'HTTP/1.1" ' not in line]
                print(f"--- {name}: its log, access lines left out\n" + "".join(said[-60:]))
        assert not problems, "\n".join(problems)


def check_server(
    name: str,
    server: Server,
    load: Load,
    memory: Memory,
    reference: float,
    ended: float,
    figures: list[str],
) -> list[str]:
    """What went wrong on one server (its figures appended to `figures`)."""
    problems = [f"{name}: {exc!r}" for exc in load.failures]
    problems += [f"{name}: {wrong}" for wrong in load.tally.wrong]
    errors = [line.strip() for line in server.log if any(m in line for m in ERROR_MARKS)]
    problems += [f"{name} log: {line}" for line in errors[:20]]
    now = sorted(children(server.serve_pid))
    if now != server.workers:
        problems.append(f"{name}: workers {server.workers} at the start, {now} at the end")
    checked, wrong_counts = counts_differing(server.database_url)
    problems += [f"{name}: {line}" for line in wrong_counts]
    kinds: Counter[str] = Counter()
    for (kind, _status), n in load.tally.answers.items():
        kinds[kind] += n
    figures.append(
        f"{name}: {load.tally.total} requests ({load.tally.total / ended:.0f}/s), "
        f"{load.tally.errors()} answers 5xx, {len(load.tally.wrong)} unexpected, "
        f"{len(errors)} error lines in the log; "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        + f"; counts equal to a recount on {checked - len(wrong_counts)} of {checked} needs"
    )
    for pid in server.workers:
        samples = memory.samples.get(pid, [])
        last = samples[-1][0] if samples else 0.0
        if last < ended - PLATEAU_SECONDS:
            problems.append(f"{name} worker {pid}: no RSS after {last:.0f} s (it ended)")
            continue
        before, after = memory.plateau(pid, reference), memory.plateau(pid, ended)
        figures.append(
            f"{name} worker {pid}: RSS plateau {before:.1f} MiB at {reference:.0f} s, "
            f"{after:.1f} MiB at the end ({(after / before - 1) * 100:+.1f} %)"
        )
        if after > before * (1 + TOLERANCE):
            problems.append(f"{name} worker {pid}: RSS grew from {before:.1f} to {after:.1f} MiB")
    return problems
