"""What the long reliability tests share (tests/reliability/test_crashes.py, test_outages.py):
a database of their own on the run's engine, a browser signed in through the login form, a
PostgreSQL server of their own that they stop and start (never the machine's), `bourse worker`
processes, processes killed outright, who holds a TCP connection, and waiting for a condition
with a deadline."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import text

from app.core.db import make_engine
from app.ops.cli import migrate_database
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import DEFAULT_PASSWORD, read_form
from tests.mail.test_smtp import free_port
from tests.serving import bourse_environment
from tests.web.helpers import parse
from tests.web.test_workers import children

T = TypeVar("T")

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def wait_for(condition: Callable[[], T], what: str, seconds: float = 30.0) -> T:
    """Polls `condition` until it returns something true (a process, a port or a row count
    gives no event to wait on from here) and returns it; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {seconds:.0f} s for {what}")
        time.sleep(0.02)


@contextmanager
def fresh_database(engine_name: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the run's engine for one test: a SQLite file under `tmp_path`,
    or a database created on the test PostgreSQL server and dropped afterwards."""
    if engine_name == "postgres":
        url = create_pg_database("bourse_reliability")
        try:
            migrate_database(url)
            yield url
        finally:
            drop_pg_database(url)
    else:
        url = f"sqlite:///{tmp_path / 'reliability.sqlite3'}"
        migrate_database(url)
        yield url


def sign_in(url: str, email: str) -> httpx.Client:
    """A browser signed in through the login form (its password: DEFAULT_PASSWORD)."""
    browser = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    _method, values, _names = read_form(browser.get("/account/login").text, "/account/login")
    values.update(email=email, password=DEFAULT_PASSWORD)
    assert browser.post("/account/login", data=values).status_code == 303
    return browser


def csrf_of(browser: httpx.Client, path: str) -> str:
    """The form token of this browser, as the page at `path` carries it."""
    page = parse(browser.get(path, follow_redirects=True))
    token = page.css_first("input[name=csrf_token]").attributes["value"]
    assert token
    return token


# --- Processes --------------------------------------------------------------------------------


def gone(pid: int) -> bool:
    """Whether `pid` has ended (a zombie waiting for its parent has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def kill_serve(process: subprocess.Popen[str]) -> list[int]:
    """SIGKILL to `bourse serve` and each of its workers at once, as the kernel's OOM killer or
    a power cut would end them: no request finishes, no transaction commits after this. Returns
    the pids killed, once all have ended."""
    victims = [process.pid, *children(process.pid)]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)
    wait_for(lambda: all(gone(pid) for pid in victims), "the killed processes to end")
    return victims


# `bourse worker` as the console script runs it (app.ops.cli.main), with the claim of a message
# or delivery (LOCK_DURATION, five minutes) shortened to a few seconds: what a killed worker
# had claimed is taken up again as it would be five minutes later, within the test's time.
WORKER = """
import sys
from datetime import timedelta

from app.mail import worker as mail
from app.syndication import webhook_delivery as hooks

mail.LOCK_DURATION = hooks.LOCK_DURATION = timedelta(seconds=float(sys.argv[1]))

from app.ops.cli import main

raise SystemExit(main(["worker", "--interval", sys.argv[2]]))
"""


def start_worker(
    tmp_path: Path,
    database_url: str,
    env: dict[str, str],
    *,
    lock_seconds: float,
    interval: float = 0.2,
) -> subprocess.Popen[bytes]:
    """A `bourse worker` process on `database_url` (see WORKER), its log in tmp_path."""
    log = (tmp_path / "worker.log").open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER, str(lock_seconds), str(interval)],
            cwd=tmp_path,
            env=bourse_environment(tmp_path, database_url, env),
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()  # the child has its own copy


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def connection_owner(local_port: int, pids: Iterable[int]) -> int | None:
    """Which of `pids` holds the TCP socket bound to `local_port` on this machine (the client's
    end of a connection a receiver of ours accepted), read from Linux's tables."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                sockets.add(f"socket:[{fields[9]}]")
    return socket_holder(sockets, pids)


def socket_holder(sockets: set[str], pids: Iterable[int]) -> int | None:
    """Which of `pids` has one of `sockets` open (as /proc/<pid>/fd names them:
    "socket:[<inode>]", the inode of /proc/net/tcp)."""
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except FileNotFoundError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in sockets:
                    return pid
            except OSError:
                continue
    return None


# --- A PostgreSQL server of the test's own -----------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on a free loopback port, that the test
    stops and starts at will: the machine's server (5432) serves the other tests meanwhile.
    initdb refuses to run as root: as root, its programs run as the `postgres` user."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bourse-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.running = False
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, program: str, *args: str) -> None:
        command = [str(PG_BIN / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            pytest.fail(
                f"{program} failed ({done.returncode}): {done.stdout}{done.stderr}"
                + (log.read_text() if log.exists() else "")
            )

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Returns once the server accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-w", "-t", "60", "-o", options,
        )  # fmt: skip
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """`fast`: the server ends every session and stops, as an administrator's restart
        does; `immediate`: it stops at once, as after a crash. Returns once it has stopped."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = make_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()
