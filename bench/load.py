"""Load benchmark: requests per second of each page under wrk, against a bare reference app.

Builds (or reuses) a database with `bourse seed-demo --needs N` (bench/board.py's code),
starts `bourse serve --workers 2` as in production and a bare ASGI app answering a fixed 13 KB
page (bench/bare_app.py) side by side on free ports of 127.0.0.1, drives each page with wrk
(2 threads, 64 connections, N seconds), and prints a Markdown report on stdout: requests per
second and latency percentiles of each page, anonymous and signed in, « Moi aussi » toggles
through the API (with a check that the counts stay exact), the first request after a write,
and the memory of each server process. Progress goes to stderr. See bench/README.md.

    .venv/bin/python bench/load.py                         # SQLite, 100,000 needs
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
    .venv/bin/python bench/load.py --duration 5 --only board need toggles
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from types import FrameType
from urllib.parse import quote

import httpx
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

import board  # bench/board.py: the database and the server

BENCH = Path(__file__).resolve().parent
WRK = Path("/usr/bin/wrk")
WRK_SCRIPTS = BENCH / "wrk"
DEFAULT_SQLITE = board.ROOT / "data" / "bench" / "load.sqlite3"
ACCOUNT_DOMAIN = "bench-load.bourse.example"
# Fixed, so that a reused database keeps accepting it (bench/load_accounts.py sets it again).
BENCH_PASSWORD = "bench-load-mot-de-passe-2026"
SESSION_COOKIE = "bourse_session"
CSRF_COOKIE = "bourse_csrf"

log = board.log
# The rows that need a signed-in browser (the logins are skipped when --only leaves none).
SIGNED_IN_KEYS = (
    "me-board",
    "me-top",
    "me-search",
    "me-deep",
    "me-need",
    "staff-moderation",
    "staff-ideas",
)


# --- wrk -----------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    """What bench/wrk/report.lua prints at the end of a wrk run (latencies in ms)."""

    requests: int
    seconds: float
    bytes: int
    status_errors: int  # answers that are neither 2xx nor 3xx
    connect: int
    read: int
    write: int
    timeout: int
    mean: float
    max: float
    p50: float
    p75: float
    p90: float
    p95: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return self.connect + self.read + self.write + self.timeout

    def socket_detail(self) -> str:
        if not self.socket_errors:
            return "0"
        parts = {"connect": self.connect, "read": self.read, "write": self.write}
        parts["timeout"] = self.timeout
        return (
            f"{self.socket_errors} (" + ", ".join(f"{k} {v}" for k, v in parts.items() if v) + ")"
        )


class WrkFailed(Exception):
    pass


@dataclass
class WrkOptions:
    threads: int
    connections: int
    timeout: float


def parse_wrk(output: str) -> WrkResult:
    found = re.search(r"^BENCH_RESULT (.+)$", output, re.MULTILINE)
    if found is None:
        raise WrkFailed("no BENCH_RESULT line in wrk's output")
    values = dict(item.split("=", 1) for item in found.group(1).split())
    us = {key: float(value) for key, value in values.items()}
    return WrkResult(
        requests=int(us["requests"]),
        seconds=us["duration_us"] / 1e6,
        bytes=int(us["bytes"]),
        status_errors=int(us["status"]),
        connect=int(us["connect"]),
        read=int(us["read"]),
        write=int(us["write"]),
        timeout=int(us["timeout"]),
        mean=us["mean_us"] / 1000,
        max=us["max_us"] / 1000,
        p50=us["p50_us"] / 1000,
        p75=us["p75_us"] / 1000,
        p90=us["p90_us"] / 1000,
        p95=us["p95_us"] / 1000,
        p99=us["p99_us"] / 1000,
    )


def run_wrk(
    url: str,
    options: WrkOptions,
    seconds: int,
    *,
    headers: dict[str, str] | None = None,
    script: Path = WRK_SCRIPTS / "report.lua",
    script_args: Sequence[str] = (),
) -> WrkResult:
    command = [
        str(WRK),
        f"--threads={options.threads}",
        f"--connections={options.connections}",
        f"--duration={seconds}s",
        f"--timeout={options.timeout:g}s",
        f"--script={script}",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    env = {
        **os.environ,
        "BENCH_WRK_DIR": str(WRK_SCRIPTS),
        "BENCH_WRK_THREADS": str(options.threads),
    }
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=seconds + 120, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise WrkFailed(f"wrk did not end within {seconds + 120} s") from exc
    if done.returncode != 0:
        raise WrkFailed(f"wrk exited {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return parse_wrk(done.stdout)


# --- the servers ---------------------------------------------------------------------------------


class ReferenceServer(board.Server):
    """bench/bare_app.py under uvicorn, with the same options as `bourse serve`."""

    # Not board.Server.__init__: the same attributes, another command.
    def __init__(self, cwd: Path, workers: int) -> None:
        self.port = board.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / "reference.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(BENCH / "bare_app.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env={**os.environ, "PYTHONPATH": str(BENCH)},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def stop_server(server: board.Server) -> None:
    """Stops the server, then kills any of its workers that outlived it: the processes that
    were its descendants a moment before and still run the same command line."""
    descendants = {pid: cmdline(pid) for pid in server.pids()[1:]}
    server.stop()
    for pid, command in descendants.items():
        if command and cmdline(pid) == command:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def process_role(pid: int, root: int) -> str:
    if pid == root:
        return "supervisor"
    command = cmdline(pid).replace(b"\0", b" ").decode(errors="replace")
    if "resource_tracker" in command:
        return "resource tracker"
    return "worker" if "multiprocessing" in command else "child"


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time used so far by these processes (/proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Quiet:
    """When the next row may start: the previous one's work is over.

    When wrk stops, the requests its connections had in flight go on in the server's threads
    (a slow page can leave many seconds of work behind, in the servers or in PostgreSQL), and
    the next row must not pay for them. Quiet means, for two half-seconds in a row: the
    servers' processes used under 5 % of a CPU, no other connection to the PostgreSQL database
    is running a query, and `/readyz` (which takes a pooled database connection) answers 200
    within 2 s on fresh connections."""

    servers: Sequence[board.Server]
    ready_urls: Sequence[str]
    engine: Engine

    def database_busy(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return False
        with self.engine.connect() as conn:
            active = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        return bool(active)

    def ready(self) -> bool:
        for url in self.ready_urls:
            for _ in range(2):  # two connections: they may reach both workers
                try:
                    if httpx.get(url, timeout=2).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
        return True

    def wait(self, timeout: float = 120) -> float:
        """Returns the seconds waited (at most `timeout`, then goes on with a warning)."""
        started = time.monotonic()
        deadline = started + timeout
        pids = [pid for server in self.servers for pid in server.pids()]
        previous, quiet = cpu_seconds(pids), 0
        while quiet < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            now = cpu_seconds(pids)
            calm = now - previous < 0.025 and not self.database_busy() and self.ready()
            quiet = quiet + 1 if calm else 0
            previous = cpu_seconds(pids)  # the probes above used some CPU of their own
        waited = time.monotonic() - started
        if quiet < 2:
            log(f"!! the servers were still busy after {timeout:.0f} s; going on")
        elif waited > 5:
            log(f"(waited {waited:.0f} s for the servers to finish the previous row's requests)")
        return waited


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


@dataclass
class CpuShare:
    """Shares of the machine's CPU capacity (all cores) used during a run."""

    servers: float  # both servers' processes
    client: float  # wrk
    others: float  # everything else: the database server, other programs

    def render(self) -> str:
        return f"{self.servers:.0%} / {self.client:.0%} / {self.others:.0%}"


class CpuMeter:
    """Measures who used the machine's CPU while its block ran: the servers (their processes),
    the client (wrk, a child that ended in the block) and the rest of the machine."""

    def __init__(self, servers: Sequence[board.Server]) -> None:
        self.pids = [pid for server in servers for pid in server.pids()]
        self.share: CpuShare | None = None

    def __enter__(self) -> CpuMeter:
        self.machine = machine_cpu()
        self.servers = cpu_seconds(self.pids)
        self.children = self._children()
        return self

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def __exit__(self, *exc: object) -> None:
        busy, total = machine_cpu()
        capacity = total - self.machine[1]
        if capacity <= 0:
            return
        servers = cpu_seconds(self.pids) - self.servers
        client = self._children() - self.children
        others = max(0.0, busy - self.machine[0] - servers - client)
        self.share = CpuShare(servers / capacity, client / capacity, others / capacity)


@dataclass
class Memory:
    server: str
    pid: int
    role: str
    peak_kb: int
    current_kb: int


def server_memory(name: str, server: board.Server) -> list[Memory]:
    root = server.process.pid
    return [
        Memory(name, pid, process_role(pid, root), peak, current)
        for pid, peak, current in server.memory()
    ]


# --- talking to the product ----------------------------------------------------------------------


class FormReader(HTMLParser):
    """The hidden fields of the form posting to `action`."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = values.get("action") == self.action
        elif tag == "input" and self.inside and values.get("type") == "hidden":
            self.hidden[values.get("name", "")] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The cookies a response sets, read from its headers: in production they are Secure,
    which an HTTP client rightly keeps to itself over plain http."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def sign_in(base_url: str, email: str, password: str) -> str:
    """Signs in through the real login form; returns the Cookie header of that browser."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        page = client.get("/account/login")
        page.raise_for_status()
        cookies = set_cookies(page)
        form = FormReader("/account/login")
        form.feed(page.text)
        if CSRF_COOKIE not in cookies or "csrf_token" not in form.hidden:
            raise RuntimeError("the login page set no CSRF cookie or has no csrf_token field")
        answer = client.post(
            "/account/login",
            data={**form.hidden, "email": email, "password": password},
            headers={"Cookie": f"{CSRF_COOKIE}={cookies[CSRF_COOKIE]}", "Origin": base_url},
        )
        session = set_cookies(answer).get(SESSION_COOKIE)
        if not answer.is_redirect or not session:
            raise RuntimeError(f"login of {email} answered {answer.status_code} without a session")
    return f"{CSRF_COOKIE}={cookies[CSRF_COOKIE]}; {SESSION_COOKIE}={session}"


NEXT_LINK = re.compile(
    r'<a[^>]*\brel="next"[^>]*\bhref="([^"]+)"|<a[^>]*\bhref="([^"]+)"[^>]*\brel="next"'
)


def follow_next(client: httpx.Client, start: str, times: int, headers: dict[str, str]) -> str:
    """The URL reached by following the "next page" link `times` times from `start` (or as far
    as the links go)."""
    path = start
    for _ in range(times):
        found = NEXT_LINK.search(client.get(path, headers=headers).text)
        if found is None:
            break
        path = (found.group(1) or found.group(2)).replace("&amp;", "&")
    return path


def first_idea_path(client: httpx.Client) -> str | None:
    found = re.search(r'href="(/ideas/\d+-[^"/?#]*)"', client.get("/ideas").text)
    return found.group(1) if found else None


@dataclass
class Row:
    """One line of the table: a page (or the toggles) measured by wrk."""

    key: str
    who: str  # anonymous, resident, admin, reference, API
    label: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int | str = "-"
    size: int = 0
    note: str = ""
    result: WrkResult | None = None
    cpu: CpuShare | None = None

    @property
    def answers(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 400


def check(client: httpx.Client, row: Row, signed_in: bool = False) -> None:
    """One request before wrk: a page that does not answer 2xx/3xx is reported, not loaded."""
    if row.status != "-":  # already known not to exist
        return
    try:
        response = client.get(row.path, headers=row.headers)
    except httpx.HTTPError as exc:
        row.status, row.note = "error", f"{type(exc).__name__}: {exc}"
    else:
        row.status, row.size = response.status_code, len(response.content)
        if response.is_redirect:
            row.note = f"redirects to {response.headers.get('location')}"
        if signed_in and "/account/logout" not in response.text:
            # Signed out, a page would redirect to the login form or show it: not what to load.
            row.status = f"{response.status_code}, not signed in (no logout form on the page)"
    if not row.answers:
        log(f"!! {row.who} {row.label}: {row.path} answered {row.status}: not loaded, going on")


# --- accounts, toggles, counts -------------------------------------------------------------------


def make_accounts(env: dict[str, str], cwd: Path, token_accounts: int) -> dict[str, str]:
    """The resident and admin who sign in, and `token_accounts` residents with a new personal
    API token each (bench/load_accounts.py, with the app's services). Returns the tokens."""
    accounts = [
        {"email": f"habitant@{ACCOUNT_DOMAIN}", "role": "resident", "password": BENCH_PASSWORD},
        {"email": f"admin@{ACCOUNT_DOMAIN}", "role": "admin", "password": BENCH_PASSWORD},
    ] + [
        {
            "email": f"moi-aussi-{n:03d}@{ACCOUNT_DOMAIN}",
            "role": "resident",
            "token": True,
            # They sign in too, for the form's « Moi aussi » (run_form_toggles).
            "password": BENCH_PASSWORD,
        }
        for n in range(1, token_accounts + 1)
    ]
    done = subprocess.run(
        [sys.executable, str(BENCH / "load_accounts.py")],
        input=json.dumps({"accounts": accounts}),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("bench/load_accounts.py failed")
    tokens: dict[str, str] = json.loads(done.stdout)["tokens"]
    return tokens


def toggle_needs(engine: Engine, count: int) -> list[int]:
    """The `count` most recent published needs: those on the board's first pages."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id FROM needs WHERE status = 'published' AND deleted_at IS NULL "
                "ORDER BY created_at DESC, id DESC LIMIT :n"
            ),
            {"n": count},
        )
        return [row.id for row in rows]


def withdraw_supports(
    engine: Engine, base_url: str, tokens: dict[str, str], need_ids: Sequence[int]
) -> int:
    """Withdraws, through the API, the supports the token accounts still give to these needs
    (left by an earlier run), so that every pair starts unsupported and the first pass of PUTs
    changes something. Returns how many there were."""
    query = text(
        "SELECT users.email, supports.need_id FROM supports "
        "JOIN users ON users.id = supports.user_id "
        "WHERE users.email IN :emails AND supports.need_id IN :needs"
    ).bindparams(bindparam("emails", expanding=True), bindparam("needs", expanding=True))
    with engine.connect() as conn:
        given = conn.execute(query, {"emails": list(tokens), "needs": list(need_ids)}).all()
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for email, need_id in given:
            client.delete(
                f"/api/v1/needs/{need_id}/support",
                headers={"Authorization": f"Bearer {tokens[email]}"},
            ).raise_for_status()
    return len(given)


def count_mismatches(engine: Engine, need_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(need id, supports_count, real number of supports rows) wherever they differ."""
    if not need_ids:
        return []
    query = text(
        "SELECT needs.id, needs.supports_count, "
        "(SELECT count(*) FROM supports WHERE supports.need_id = needs.id) AS real "
        "FROM needs WHERE needs.id IN :ids ORDER BY needs.id"
    ).bindparams(bindparam("ids", expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(query, {"ids": list(need_ids)}).all()
    return [
        (row.id, row.supports_count, row.real) for row in rows if row.supports_count != row.real
    ]


@dataclass
class ColdCache:
    label: str
    path: str
    after_write: list[float] = field(default_factory=list)  # ms
    next_request: list[float] = field(default_factory=list)  # ms
    statuses: set[int] = field(default_factory=set)


def cold_cache(
    base_url: str, token: str, need_id: int, pages: list[tuple[str, str]], repeats: int
) -> tuple[list[ColdCache], str]:
    """Each repeat, for each page: one « Moi aussi » through the API (given or withdrawn, in
    turn, so that every write changes something), then one anonymous GET timed, then a second
    GET timed (what the following visitors get)."""
    results = [ColdCache(label, path) for label, path in pages]
    api_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with (
        httpx.Client(base_url=base_url, timeout=60, headers=api_headers) as api,
        httpx.Client(base_url=base_url, timeout=60) as reader,
    ):
        support_path = f"/api/v1/needs/{need_id}/support"
        first = api.delete(support_path)
        if not first.is_success:
            return results, f"DELETE {support_path} answered {first.status_code}"
        give = True
        for _ in range(repeats):
            for result in results:
                write = api.put(support_path) if give else api.delete(support_path)
                if not write.is_success:
                    return (
                        results,
                        f"{write.request.method} {support_path} answered {write.status_code}",
                    )
                give = not give
                for bucket in (result.after_write, result.next_request):
                    reader.cookies.clear()
                    started = time.perf_counter()
                    response = reader.get(result.path)
                    bucket.append((time.perf_counter() - started) * 1000)
                    result.statuses.add(response.status_code)
    return results, ""


# --- the servers' logs --------------------------------------------------------------------------

ACCESS_ERROR = re.compile(r'"([A-Z]+) ([^ ?"]*)[^"]* HTTP/[\d.]+" ([45]\d\d)')
ID_IN_PATH = re.compile(r"/\d+")
EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?\w*(?:Error|Exception|Timeout)\b.*")


def log_errors(path: Path) -> list[str]:
    """What went wrong in a server's log, counted: the answers with a 4xx or 5xx status
    (uvicorn's access log, by method and path, ids replaced by {id}) and the exceptions (the
    last line of each traceback)."""
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError), path.open(errors="replace") as lines:
        for line in lines:
            found = ACCESS_ERROR.search(line)
            if found:
                method, target, status = found.groups()
                key = f"{status} on {method} {ID_IN_PATH.sub('/{id}', target)}"
            elif EXCEPTION.match(line):
                key = line.strip()[:200]
            else:
                continue
            counts[key] = counts.get(key, 0) + 1
    return [f"{n} × {key}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1])]


# --- report --------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return f"{os.cpu_count()} CPU ({cpu}){memory}, Linux {platform.release()}"


def engine_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + conn.execute(text("SELECT sqlite_version()")).scalar_one()
        version = conn.execute(text("SHOW server_version")).scalar_one()
        return "PostgreSQL " + version.split()[0]


def wrk_version() -> str:
    done = subprocess.run([str(WRK), "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"wrk (\S+)", done.stdout + done.stderr)
    return f"wrk {found.group(1)}" if found else "wrk"


def code_version() -> str:
    """The commit measured, and whether the working tree had uncommitted changes to the app."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(board.ROOT), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "code: not a git checkout"
    changed = git("status", "--porcelain", "--", "app", "templates", "static", "migrations")
    files = len(changed.splitlines())
    return f"code: {commit}" + (f" + uncommitted changes in {files} files" if files else "")


def ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


@dataclass
class Report:
    args: argparse.Namespace
    header: str
    data: str
    build: str
    rows: list[Row]
    references: list[Row]
    counts_line: str
    cold: list[ColdCache]
    cold_note: str
    memory: list[Memory]
    server_errors: dict[str, list[str]]

    def reference_rps(self) -> float:
        measured = [r.result.rps for r in self.references if r.result]
        return statistics.mean(measured) if measured else 0.0

    def table_row(self, row: Row, reference: float) -> str:
        url = row.path if len(row.path) <= 60 else row.path[:57] + "…"
        status = f"{row.status}" + (f" ({row.note})" if row.note else "")
        if not row.answers:
            status = f"**{status}**"
        r = row.result
        if r is None:
            figures = ["—"] * 10
        else:
            ratio = "—"
            if reference:
                ratio = (
                    f"{r.rps / reference:.2%}"
                    if r.rps < reference / 100
                    else f"{r.rps / reference:.1%}"
                )
            figures = [
                f"{r.requests:,}",
                rate(r.rps),
                ratio,
                ms(r.p50),
                ms(r.p95),
                ms(r.p99),
                ms(r.max),
                f"**{r.status_errors}**" if r.status_errors else "0",
                f"**{r.socket_detail()}**" if r.socket_errors else "0",
                row.cpu.render() if row.cpu else "—",
            ]
        size = f"{row.size / 1024:.1f}" if row.size else "—"
        return (
            f"| {row.who} | {row.label} | `{url}` | {status} | "
            + " | ".join(figures)
            + f" | {size} |"
        )

    def render(self) -> str:
        a = self.args
        reference = self.reference_rps()
        lines = [
            self.header,
            "",
            f"- Data: {self.data} {self.build}",
            f"- Each row: `wrk -t{a.threads} -c{a.connections} -d{a.duration}s` "
            f"after a {a.warmup} s warm-up, client on the same machine. Servers on 127.0.0.1: "
            "`bourse serve --workers 2` (BOURSE_ENV=production, BOURSE_RATE_LIMITS=off) and the "
            "reference, bench/bare_app.py (a fixed 13 KB HTML page, uvicorn, 2 workers, the same "
            "uvicorn options).",
        ]
        if self.references:
            measured = ", ".join(
                f"{r.label} {rate(r.result.rps)} req/s" for r in self.references if r.result
            )
            lines.append(
                f"- Reference: {measured}; mean {rate(reference)} req/s = 100 % in « vs ref »."
            )
        lines += [
            "",
            "| who | page | URL | status | requests | req/s | vs ref | p50 ms | p95 ms | p99 ms "
            "| max ms | non-2xx/3xx | socket errors | CPU servers / wrk / others | KB |",
            "| --- | --- | --- | --- |" + " ---: |" * 11,
        ]
        lines += [self.table_row(row, reference) for row in self.references[:1]]
        lines += [self.table_row(row, reference) for row in self.rows]
        lines += [self.table_row(row, reference) for row in self.references[1:]]
        if self.counts_line:
            lines += ["", self.counts_line]
        if self.cold or self.cold_note:
            lines += [
                "",
                f"First anonymous request after a write ({a.cold_repeats} times per page: one "
                "« Moi aussi » given or withdrawn through the API, then one GET timed, then a "
                "second GET timed):",
                "",
                "| page | URL | after the write: median ms | max ms | next request: median ms "
                "| max ms | statuses |",
                "| --- | --- | ---: | ---: | ---: | ---: | --- |",
            ]
            for c in self.cold:
                if not c.after_write:
                    continue
                lines.append(
                    f"| {c.label} | `{c.path}` | {ms(statistics.median(c.after_write))} | "
                    f"{ms(max(c.after_write))} | {ms(statistics.median(c.next_request))} | "
                    f"{ms(max(c.next_request))} | {', '.join(map(str, sorted(c.statuses)))} |"
                )
            if self.cold_note:
                lines += ["", f"**Cold-cache run stopped: {self.cold_note}.**"]
        if self.memory:
            lines += [
                "",
                "Memory after the run (`/proc/<pid>/status`):",
                "",
                "| server | pid | process | peak RSS (VmHWM) MB | RSS now (VmRSS) MB |",
                "| --- | ---: | --- | ---: | ---: |",
            ]
            lines += [
                f"| {m.server} | {m.pid} | {m.role} | {m.peak_kb / 1024:.0f} | "
                f"{m.current_kb / 1024:.0f} |"
                for m in self.memory
            ]
        for server, errors in self.server_errors.items():
            lines += [
                "",
                f"Errors in the log of {server}:"
                if errors
                else f"No error in the log of {server}.",
            ]
            lines += [f"- `{error}`" for error in errors[:20]]
        failed = [r for r in self.rows if not r.answers or r.result is None]
        if failed:
            lines += ["", "Not loaded:"]
            lines += [
                f"- {r.who} {r.label}: `{r.path}` → {r.status} {r.note}".rstrip() for r in failed
            ]
        return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{DEFAULT_SQLITE}",
        help="SQLAlchemy URL; a PostgreSQL database is created if missing",
    )
    parser.add_argument("--needs", type=int, default=100_000, help="generated needs wanted")
    parser.add_argument("--rebuild", action="store_true", help="start from an empty database")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per row")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per row, 0: none")
    parser.add_argument("--connections", type=int, default=64, help="wrk --connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk --threads")
    parser.add_argument("--timeout", type=float, default=30, help="wrk --timeout, seconds")
    parser.add_argument("--workers", type=int, default=2, help="workers of each server")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' logs (path on stderr)"
    )
    parser.add_argument("--follow", type=int, default=5, help="next-page links to the deep page")
    parser.add_argument("--token-accounts", type=int, default=8, help="accounts for toggles")
    parser.add_argument("--toggle-needs", type=int, default=50, help="needs the toggles hit")
    parser.add_argument("--cold-repeats", type=int, default=20, help="writes per cold-cache page")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        default=None,
        help="only the rows whose key contains one of these words (keys: board, board-theme, "
        "board-top, search, deep, need, ideas, idea, impact, partners, embed-needs, "
        "embed-ideas, embed-js, feed-needs-atom, …, api-needs, api-stats, oembed, me-board, "
        "me-top, me-search, me-deep, me-need, staff-moderation, staff-ideas, toggles (with "
        "form-toggles), cold); "
        "the reference always runs",
    )
    args = parser.parse_args(argv)
    if args.threads > args.connections:
        parser.error("--threads cannot exceed --connections")
    return args


def selected(args: argparse.Namespace, key: str) -> bool:
    return args.only is None or any(word.lower() in key for word in args.only)


class Interrupted(Exception):
    pass


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


@contextlib.contextmanager
def running(server: board.Server, name: str) -> Iterator[board.Server]:
    try:
        server.wait_ready()
        log(f"{name} on {server.base_url} (pid {server.process.pid})")
        yield server
    finally:
        stop_server(server)


def prepare_database(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> str:
    """bench/board.py's build: migrate, then seed the missing generated needs."""
    url = args.database_url
    board.ensure_database(url, args.rebuild)
    log(f"migrating {make_url(url).render_as_string(hide_password=True)}")
    board.bourse(["migrate"], env, workdir)
    engine = create_engine(url)
    have = board.generated_needs(engine)
    engine.dispose()
    if have >= args.needs:
        return f"Reused: {have:,} generated needs were there."
    missing = args.needs - have
    log(f"generating {missing:,} needs (bourse seed-demo --needs {missing})")
    started = time.perf_counter()
    output = board.bourse(["seed-demo", "--needs", str(missing)], env, workdir)
    elapsed = time.perf_counter() - started
    log(output.strip().splitlines()[-1])
    return f"Built now: `bourse seed-demo --needs {missing}` took {elapsed:.0f} s."


def vacuum(engine: Engine) -> str:
    """PostgreSQL: VACUUM (ANALYZE) before the rows, and what the report says of it.

    Every toggle run leaves dead row versions behind (the toggled needs' rows, the supports,
    the content version's row), which a production server's autovacuum clears as it goes.
    This machine's PostgreSQL runs with autovacuum off: after a day of runs the needs table
    held 170,641 dead rows, and the signed-in board did 1,058 req/s with a p99 of 115 ms; right
    after a VACUUM, 1,682 and 78 ms (bench/README.md, issue 13)."""
    if engine.dialect.name != "postgresql":
        return ""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        autovacuum = conn.execute(text("SHOW autovacuum")).scalar_one()
        conn.execute(text("VACUUM (ANALYZE)"))
    log(f"VACUUM (ANALYZE) done (autovacuum is {autovacuum} on this server)")
    return f" VACUUM (ANALYZE) before the rows (the server's autovacuum is {autovacuum})."


def anonymous_rows(
    client: httpx.Client, base_url: str, targets: board.Targets, args: argparse.Namespace
) -> list[Row]:
    rows = [Row("board", "anonymous", "board", "/")]
    if targets.theme:
        path = f"/?theme={quote(targets.theme)}"
        rows.append(Row("board-theme", "anonymous", f"board, theme {targets.theme}", path))
    rows += [
        Row("board-top", "anonymous", "board, top", "/?sort=top"),
        Row("search", "anonymous", "search « creche »", "/?q=creche"),
    ]
    deep = follow_next(client, "/", args.follow, {})
    rows.append(Row("deep", "anonymous", f"deep page ({args.follow} × next)", deep))
    if targets.need_path:
        label = f"need, {targets.need_comments} comments"
        rows.append(Row("need", "anonymous", label, targets.need_path))
    rows.append(Row("ideas", "anonymous", "ideas", "/ideas"))
    idea = first_idea_path(client)
    if idea:
        rows.append(Row("idea", "anonymous", "idea page", idea))
    else:
        rows.append(
            Row("idea", "anonymous", "idea page", "/ideas/…", status="no idea link on /ideas")
        )
    rows += [
        Row("impact", "anonymous", "impact", "/impact"),
        Row("partners", "anonymous", "partners", "/partners"),
        Row("embed-needs", "anonymous", "embed, needs", "/embed/needs"),
        Row("embed-ideas", "anonymous", "embed, ideas", "/embed/ideas"),
        Row("embed-js", "anonymous", "embed.js", "/embed.js"),
    ]
    for kind in ("needs", "ideas"):
        for fmt in ("atom", "rss", "json"):
            path = f"/feeds/{kind}.{fmt}"
            rows.append(Row(f"feed-{kind}-{fmt}", "anonymous", f"feed {kind}.{fmt}", path))
    rows += [
        Row("api-needs", "anonymous", "API needs", "/api/v1/needs"),
        Row("api-stats", "anonymous", "API stats", "/api/v1/stats"),
    ]
    if targets.need_path:
        oembed = "/oembed?url=" + quote(base_url + targets.need_path, safe="")
        rows.append(Row("oembed", "anonymous", "oEmbed of the need", oembed))
    return rows


def signed_in_rows(
    client: httpx.Client, base_url: str, targets: board.Targets, args: argparse.Namespace
) -> list[Row]:
    """The resident's rows and the admin's, with the Cookie header of a real login; when a
    login fails, its rows carry the error and are not loaded."""
    cookies: dict[str, str] = {}
    errors: dict[str, str] = {}
    for who in ("resident", "admin"):
        email = f"{'habitant' if who == 'resident' else who}@{ACCOUNT_DOMAIN}"
        try:
            cookies[who] = sign_in(base_url, email, BENCH_PASSWORD)
        except (RuntimeError, httpx.HTTPError) as exc:
            errors[who] = f"login failed: {exc}"
            log(f"!! {who}: {errors[who]}")
    resident = {"Cookie": cookies["resident"]} if "resident" in cookies else {}
    deep = follow_next(client, "/", args.follow, resident) if resident else "/"
    rows = [
        Row("me-board", "resident", "board", "/", resident),
        Row("me-top", "resident", "board, top", "/?sort=top", resident),
        Row("me-search", "resident", "search « creche »", "/?q=creche", resident),
        Row("me-deep", "resident", f"deep page ({args.follow} × next)", deep, resident),
    ]
    if targets.need_path:
        label = f"need, {targets.need_comments} comments"
        rows.append(Row("me-need", "resident", label, targets.need_path, resident))
    admin = {"Cookie": cookies["admin"]} if "admin" in cookies else {}
    rows += [
        Row("staff-moderation", "admin", "moderation queue", "/moderation/", admin),
        Row("staff-ideas", "admin", "staff idea board", "/moderation/ideas", admin),
    ]
    for row in rows:
        if row.who in errors:
            row.status = errors[row.who]
    return rows


def load_row(
    base_url: str,
    row: Row,
    args: argparse.Namespace,
    options: WrkOptions,
    quiet: Quiet,
) -> None:
    """A warm-up run, then the measured one, once the servers are quiet."""
    url = base_url + row.path
    quiet.wait()
    try:
        if args.warmup > 0:
            run_wrk(url, options, args.warmup, headers=row.headers)
        with CpuMeter(quiet.servers) as meter:
            row.result = run_wrk(url, options, args.duration, headers=row.headers)
        row.cpu = meter.share
    except WrkFailed as exc:
        row.note = (row.note + "; " if row.note else "") + str(exc)
        log(f"!! {row.who} {row.label}: {exc}")
        return
    r = row.result
    if r.requests == 0:
        row.note = (row.note + "; " if row.note else "") + (
            f"no answer within the {args.duration} s run"
        )
    log(
        f"{row.who} {row.label}: {rate(r.rps)} req/s, p50 {ms(r.p50)} ms, p99 {ms(r.p99)} ms"
        + (f", {r.status_errors} non-2xx/3xx" if r.status_errors else "")
        + (f", socket errors {r.socket_detail()}" if r.socket_errors else "")
    )


def run_toggles(
    base_url: str,
    engine: Engine,
    tokens: dict[str, str],
    need_ids: Sequence[int],
    workdir: Path,
    args: argparse.Namespace,
    options: WrkOptions,
    quiet: Quiet,
) -> Row:
    """« Moi aussi » given and withdrawn through the API by wrk (bench/wrk/toggles.lua)."""
    row = Row(
        "toggles",
        "API",
        f"« Moi aussi » toggles ({len(tokens)} tokens × {len(need_ids)} needs, PUT/DELETE)",
        "/api/v1/needs/{id}/support",
    )
    quiet.wait()
    first_token = next(iter(tokens.values()))
    probe = httpx.put(
        f"{base_url}/api/v1/needs/{need_ids[0]}/support",
        headers={"Authorization": f"Bearer {first_token}"},
        timeout=60,
    )
    row.status = probe.status_code
    if not row.answers:
        row.note = probe.text[:200]
        log(f"!! toggles: PUT answered {probe.status_code}: not loaded")
        return row
    try:
        withdrawn = withdraw_supports(engine, base_url, tokens, need_ids)
    except httpx.HTTPError as exc:
        row.status = f"withdrawing the earlier supports failed: {type(exc).__name__} {exc}"
        log(f"!! toggles: {row.status}; not loaded")
        return row
    log(f"toggles: {withdrawn} supports left by an earlier run (or the probe) withdrawn first")
    pairs = "".join(f"{token} {need}\n" for need in need_ids for token in tokens.values())
    load_pairs(row, "toggles", base_url, pairs, workdir, args, options, quiet)
    return row


def load_pairs(
    row: Row,
    name: str,
    base_url: str,
    pairs: str,
    workdir: Path,
    args: argparse.Namespace,
    options: WrkOptions,
    quiet: Quiet,
) -> None:
    """wrk with bench/wrk/toggles.lua over `pairs` (the file's text), into `row`."""
    path = workdir / f"{row.key}-pairs.txt"
    path.write_text(pairs)
    quiet.wait()
    try:
        with CpuMeter(quiet.servers) as meter:
            row.result = run_wrk(
                base_url,
                options,
                args.duration,
                script=WRK_SCRIPTS / "toggles.lua",
                script_args=[str(path)],
            )
        row.cpu = meter.share
    except WrkFailed as exc:
        row.note = str(exc)
        log(f"!! {name}: {exc}")
    else:
        r = row.result
        log(
            f"{name}: {rate(r.rps)}/s, p50 {ms(r.p50)} ms, p99 {ms(r.p99)} ms"
            + (f", {r.status_errors} non-2xx/3xx" if r.status_errors else "")
        )
    finally:
        path.unlink(missing_ok=True)  # it holds the tokens or the sessions


def form_pairs(base_url: str, emails: Sequence[str], need_ids: Sequence[int]) -> str:
    """One "<Cookie header>\t<csrf_token>\t<need id>" line per pair: each account signs in
    through the login form, and its token is read from the « Moi aussi » form of a need page
    it is shown (the same for every need: it belongs to the browser)."""
    lines = []
    for email in emails:
        cookie = sign_in(base_url, email, BENCH_PASSWORD)
        action = f"/needs/{need_ids[0]}/support"
        page = httpx.get(f"{base_url}/needs/{need_ids[0]}", timeout=60)
        if page.is_redirect:  # to the address with its slug (httpx would drop the Cookie)
            page = httpx.get(
                base_url + page.headers["location"], headers={"Cookie": cookie}, timeout=60
            )
        page.raise_for_status()
        form = FormReader(action)
        form.feed(page.text)
        token = form.hidden.get("csrf_token")
        if not token:
            raise RuntimeError(f"the need page shows {email} no « Moi aussi » form")
        lines += [f"{cookie}\t{token}\t{need}\n" for need in need_ids]
    return "".join(lines)


def run_form_toggles(
    base_url: str,
    engine: Engine,
    tokens: dict[str, str],
    need_ids: Sequence[int],
    workdir: Path,
    args: argparse.Namespace,
    options: WrkOptions,
    quiet: Quiet,
) -> Row:
    """« Moi aussi » given and withdrawn through the form with htmx (bench/wrk/toggles.lua),
    by the accounts of the API's toggles, signed in."""
    row = Row(
        "form-toggles",
        "form",
        f"« Moi aussi » form with htmx ({len(tokens)} accounts × {len(need_ids)} needs)",
        "/needs/{id}/support",
    )
    quiet.wait()
    try:
        withdrawn = withdraw_supports(engine, base_url, tokens, need_ids)
        pairs_text = form_pairs(base_url, list(tokens), need_ids)
    except (httpx.HTTPError, RuntimeError) as exc:
        row.status = f"preparing the form's toggles failed: {type(exc).__name__} {exc}"
        log(f"!! form toggles: {row.status}; not loaded")
        return row
    row.status = 200
    log(f"form toggles: {withdrawn} supports left by the API's toggles withdrawn first")
    load_pairs(row, "form toggles", base_url, pairs_text, workdir, args, options, quiet)
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not WRK.exists():
        raise SystemExit(
            f"{WRK} is missing: install wrk first (Debian: `apt-get install -y wrk`, as root)."
        )
    signal.signal(signal.SIGTERM, _on_sigterm)
    options = WrkOptions(args.threads, args.connections, args.timeout)
    url = args.database_url
    workdir = Path(tempfile.mkdtemp(prefix="bourse-load-"))
    failed = True
    try:
        env = board.bourse_env(url, workdir / "data", BOURSE_ENV="test")
        build = prepare_database(args, env, workdir)
        engine = create_engine(url)
        targets = board.find_targets(engine)
        size = board.database_size(engine, url)
        version = engine_version(engine)
        needs_for_toggles = toggle_needs(engine, args.toggle_needs)
        log(f"accounts: 1 resident, 1 admin, {args.token_accounts} with an API token")
        tokens_by_email = make_accounts(env, workdir, args.token_accounts)
        tokens = list(tokens_by_email.values())
        build += vacuum(engine)

        server_env = {
            **env,
            "BOURSE_ENV": "production",
            "BOURSE_SECRET_KEY": secrets.token_urlsafe(32),
            "BOURSE_RATE_LIMITS": "off",
        }
        references: list[Row] = []
        rows: list[Row] = []
        cold: list[ColdCache] = []
        cold_note = counts_line = ""
        memory: list[Memory] = []
        touched: set[int] = set()
        with (
            running(board.Server(server_env, workdir, args.workers), "bourse serve") as product,
            running(ReferenceServer(workdir, args.workers), "reference app") as bare,
            httpx.Client(base_url=product.base_url, timeout=60) as client,
        ):
            base = product.base_url
            quiet = Quiet([product, bare], [f"{base}/readyz"], engine)
            rows = anonymous_rows(client, base, targets, args)
            if any(selected(args, key) for key in SIGNED_IN_KEYS):
                rows += signed_in_rows(client, base, targets, args)
            rows = [row for row in rows if selected(args, row.key)]
            for row in rows:
                check(client, row, signed_in=row.who in ("resident", "admin"))
                client.cookies.clear()

            def reference(label: str) -> Row:
                row = Row("reference", "reference", label, "/", status=200)
                row.size = len(httpx.get(bare.base_url, timeout=10).content)
                load_row(bare.base_url, row, args, options, quiet)
                return row

            references.append(reference("bare app, before"))
            for row in rows:
                if row.answers:
                    load_row(base, row, args, options, quiet)

            if selected(args, "toggles") and tokens and needs_for_toggles:
                rows.append(
                    run_toggles(
                        base,
                        engine,
                        tokens_by_email,
                        needs_for_toggles,
                        workdir,
                        args,
                        options,
                        quiet,
                    )
                )
                rows.append(
                    run_form_toggles(
                        base,
                        engine,
                        tokens_by_email,
                        needs_for_toggles,
                        workdir,
                        args,
                        options,
                        quiet,
                    )
                )
                touched.update(needs_for_toggles)

            references.append(reference("bare app, after"))

            if selected(args, "cold") and tokens and targets.need_path:
                need_id = int(targets.need_path.split("/")[-1].split("-")[0])
                touched.add(need_id)
                quiet.wait()
                log(f"cold cache: {args.cold_repeats} writes per page")
                try:
                    cold, cold_note = cold_cache(
                        base,
                        tokens[0],
                        need_id,
                        [
                            ("board", "/"),
                            (f"need, {targets.need_comments} comments", targets.need_path),
                        ],
                        args.cold_repeats,
                    )
                except httpx.HTTPError as exc:
                    cold_note = f"{type(exc).__name__}: {exc}"
                    log(f"!! cold cache: {cold_note}")
            quiet.wait()
            memory = server_memory("bourse serve", product) + server_memory("reference", bare)

        if touched:
            mismatches = count_mismatches(engine, sorted(touched))
            if mismatches:
                counts_line = (
                    f"**supports_count wrong on {len(mismatches)} of {len(touched)} needs** "
                    "(need: stored / real): "
                    + ", ".join(f"{n}: {stored} / {real}" for n, stored, real in mismatches)
                )
            else:
                counts_line = (
                    f"Counts exact: supports_count equals the number of supports rows on all "
                    f"{len(touched)} needs written to."
                )
            log(counts_line)
        engine.dispose()

        counts = targets.counts
        engine_name = version.split()[0]
        header = (
            f"**{datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()} — {version} — "
            f"{counts['needs']:,} needs, database {size}**"
        )
        data = (
            f"{counts['needs']:,} needs, {counts['supports']:,} supports, "
            f"{counts['comments']:,} comments, {counts['users']:,} accounts ({engine_name}, "
            f"{size}); {code_version()}; Python {platform.python_version()}, {wrk_version()}."
        )
        server_errors = {
            "bourse serve": log_errors(workdir / "server.log"),
            "the reference": log_errors(workdir / "reference.log"),
        }
        report = Report(
            args,
            header,
            data,
            build,
            rows,
            references,
            counts_line,
            cold,
            cold_note,
            memory,
            server_errors,
        )
        failed = False
    except (KeyboardInterrupt, Interrupted):
        log("interrupted: servers stopped")
        return 130
    finally:
        if failed or args.keep_logs:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report.render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
