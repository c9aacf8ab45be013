"""Load and latency benchmark of the public board (issue 3, item 9).

Builds (or reuses) a database with `bourse seed-demo --needs N`, starts `bourse serve` on a free
port of 127.0.0.1, measures the latency of the board's pages one request at a time, then
throughput with a few concurrent clients, and prints a Markdown report on stdout. Progress goes
to stderr. Not part of the test suite: see bench/README.md.

    .venv/bin/python bench/board.py                        # SQLite, 100,000 needs
    .venv/bin/python bench/board.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_board
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "data" / "bench" / "board.sqlite3"
GENERATED_AUTHORS = "voisin-%@demo.bourse.example"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the database ------------------------------------------------------------------------------


def bourse_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOURSE_")}
    env.update(
        {
            "BOURSE_DATABASE_URL": database_url,
            "BOURSE_DATA_DIR": str(data_dir),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            **extra,
        }
    )
    return env


def bourse(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Runs a `bourse` command to completion and returns its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "app.ops.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bourse {' '.join(args)} failed ({done.returncode})")
    return done.stdout


def ensure_database(url: str, rebuild: bool) -> None:
    """Creates the PostgreSQL database if it does not exist (dropped first with --rebuild), or
    removes the SQLite file with --rebuild."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if rebuild:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if rebuild:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            log(f"creating database {name}")
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def generated_needs(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM needs JOIN users ON users.id = needs.author_id "
                "WHERE users.email LIKE :pattern"
            ),
            {"pattern": GENERATED_AUTHORS},
        ).scalar_one()


def database_size(engine: Engine, url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        size = sum(
            Path(f"{parsed.database}{s}").stat().st_size
            for s in ("", "-wal")
            if Path(f"{parsed.database}{s}").exists()
        )
    else:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return f"{size / 1024 / 1024:.0f} MB"


@dataclass
class Targets:
    theme: str | None
    territory: str | None
    need_path: str | None
    need_comments: int
    counts: dict[str, int]


def find_targets(engine: Engine) -> Targets:
    """What to ask for: the busiest theme and territory, a need with about 50 comments."""
    public = "status IN ('published', 'covered') AND deleted_at IS NULL"
    busiest = (
        "SELECT slug FROM {table} WHERE id = (SELECT {column} FROM needs "
        f"WHERE {{column}} IS NOT NULL AND {public} "
        "GROUP BY {column} ORDER BY count(*) DESC LIMIT 1)"
    )
    with engine.connect() as conn:
        theme = conn.execute(text(busiest.format(table="themes", column="theme_id"))).scalar()
        territory = conn.execute(
            text(busiest.format(table="territories", column="territory_id"))
        ).scalar()
        need = conn.execute(
            text(
                f"SELECT id, slug, comments_count FROM needs WHERE {public} "
                "ORDER BY abs(comments_count - 50), id LIMIT 1"
            )
        ).first()
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("needs", "supports", "comments", "follows", "users")
        }
    return Targets(
        theme=theme,
        territory=territory,
        need_path=f"/needs/{need.id}-{need.slug}" if need else None,
        need_comments=need.comments_count if need else 0,
        counts=counts,
    )


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`bourse serve` in a child process, bound to 127.0.0.1 only."""

    def __init__(self, env: dict[str, str], cwd: Path, workers: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / "server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        env = {**env, "BOURSE_BASE_URL": self.base_url}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.ops.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.stderr.write(self.log_path.read_text()[-4000:])
        raise SystemExit("the server did not start (its log is above)")

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn's workers when --workers > 1)."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    queue.extend(int(c) for c in children.read_text().split())
        return found

    def memory(self) -> list[tuple[int, int, int]]:
        """(pid, peak RSS, current RSS) in kB, from /proc/<pid>/status (VmHWM, VmRSS)."""
        result = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = {
                line.split(":")[0]: int(line.split()[1])
                for line in status.splitlines()
                if line.startswith(("VmHWM", "VmRSS"))
            }
            result.append((pid, values.get("VmHWM", 0), values.get("VmRSS", 0)))
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    path: str
    status: int | str = "-"
    latencies: list[float] = field(default_factory=list)  # milliseconds
    size: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


def measure(
    client: httpx.Client,
    label: str,
    path: str,
    requests: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Result:
    result = Result(label, path)
    try:
        first = client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        result.status, result.note = "error", f"{type(exc).__name__}: {exc}"
        log(f"!! {label}: {path} failed: {result.note}; going on")
        return result
    result.status, result.size = first.status_code, len(first.content)
    if first.is_redirect:
        result.note = f"redirects to {first.headers.get('location')}"
    if not first.is_success:
        log(f"!! {label}: {path} answered {first.status_code}: not measured, going on")
        return result
    deadline = time.monotonic() + seconds
    for _ in range(requests):
        if time.monotonic() > deadline:
            result.note = f"{seconds:.0f} s limit reached"
            break
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        result.latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != first.status_code:
            result.note = f"answered {response.status_code} once"
    p50, p95 = result.percentile(50), result.percentile(95)
    log(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(result.latencies)} requests)")
    return result


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def load(base_url: str, paths: list[str], clients: int, seconds: float) -> LoadResult:
    """`clients` threads, each with its own connection, cycling through `paths`."""
    result = LoadResult(clients, seconds)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run(offset: int) -> None:
        mine: list[float] = []
        errors = 0
        with httpx.Client(base_url=base_url, timeout=60) as client:
            i = offset
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    ok = client.get(paths[i % len(paths)]).is_success
                except httpx.HTTPError:
                    ok = False
                mine.append((time.perf_counter() - started) * 1000)
                errors += not ok
                i += 1
        with lock:
            result.latencies.extend(mine)
            result.errors += errors

    threads = [threading.Thread(target=run, args=(n * 3,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


# --- report ------------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def report(
    args: argparse.Namespace,
    engine_name: str,
    targets: Targets,
    size: str,
    build: str,
    results: list[Result],
    loaded: LoadResult | None,
    memory: list[tuple[int, int, int]],
) -> str:
    counts = targets.counts
    lines = [
        f"## Board benchmark — {engine_name}, {counts['needs']:,} needs",
        "",
        f"- Data: {counts['needs']:,} needs, {counts['supports']:,} supports, "
        f"{counts['comments']:,} comments, {counts['follows']:,} follows, "
        f"{counts['users']:,} accounts; database {size}. {build}",
        f"- Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, "
        f"`bourse serve --workers {args.workers}`, BOURSE_ENV=production, "
        "client on the same machine.",
        f"- Latency: one request at a time, up to {args.requests} requests or "
        f"{args.seconds:.0f} s per row, after one unmeasured request.",
        "",
        "| page | URL | status | requests | p50 ms | p95 ms | max ms | KB |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if r.latencies:
            timing = [fmt(r.percentile(50)), fmt(r.percentile(95)), fmt(max(r.latencies))]
        else:
            timing = ["—", "—", "—"]
        status = f"{r.status}" + (f" ({r.note})" if r.note else "")
        if not r.ok:
            status = f"**{status}**"
        url = r.path if len(r.path) <= 60 else r.path[:57] + "…"
        lines.append(
            f"| {r.label} | `{url}` | {status} | {len(r.latencies)} | "
            + " | ".join(timing)
            + f" | {r.size / 1024:.0f} |"
        )
    if loaded and loaded.latencies:
        ordered = sorted(loaded.latencies)
        p50 = ordered[len(ordered) // 2]
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        lines += [
            "",
            f"Under load: {loaded.clients} concurrent clients for {loaded.seconds:.0f} s over "
            f"the pages above that answered: {len(ordered) / loaded.seconds:.1f} requests/s, "
            f"p50 {fmt(p50)} ms, p95 {fmt(p95)} ms, {loaded.errors} error(s).",
        ]
    peak = sum(hwm for _, hwm, _ in memory)
    detail = ", ".join(f"pid {pid}: {hwm / 1024:.0f} MB" for pid, hwm, _ in memory)
    lines += [
        "",
        f"Server peak RSS (VmHWM): {peak / 1024:.0f} MB" + (f" ({detail})" if detail else "") + ".",
    ]
    failed = [r for r in results if not r.ok]
    if failed:
        lines += ["", "Not measured (the route did not answer 2xx):"]
        lines += [f"- {r.label}: `{r.path}` → {r.status} {r.note}".rstrip() for r in failed]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--needs", type=int, default=100_000, help="generated needs wanted")
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{DEFAULT_SQLITE}",
        help="SQLAlchemy URL (default: a SQLite file under data/bench/); a PostgreSQL "
        "database is created if missing",
    )
    parser.add_argument("--rebuild", action="store_true", help="start from an empty database")
    parser.add_argument("--requests", type=int, default=200, help="at most, per page")
    parser.add_argument("--seconds", type=float, default=20, help="at most, per page")
    parser.add_argument("--workers", type=int, default=1, help="bourse serve --workers")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients under load")
    parser.add_argument("--load-seconds", type=float, default=20, help="0 skips the load run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url
    engine_name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    ensure_database(url, args.rebuild)
    workdir = Path(tempfile.mkdtemp(prefix="bourse-bench-"))
    env = bourse_env(url, workdir / "data", BOURSE_ENV="test")

    log(f"migrating {make_url(url).render_as_string(hide_password=True)}")
    bourse(["migrate"], env, workdir)
    engine = create_engine(url)
    have = generated_needs(engine)
    build = f"Reused: {have:,} generated needs were there."
    if have < args.needs:
        missing = args.needs - have
        log(f"generating {missing:,} needs (bourse seed-demo --needs {missing})")
        started = time.perf_counter()
        output = bourse(["seed-demo", "--needs", str(missing)], env, workdir)
        elapsed = time.perf_counter() - started
        generated_line = output.strip().splitlines()[-1]
        log(generated_line)
        build = (
            f"Built now: `bourse seed-demo --needs {missing}` took {elapsed:.0f} s "
            f"(« {generated_line} »)."
        )
    targets = find_targets(engine)
    size = database_size(engine, url)
    engine.dispose()

    pages: list[tuple[str, str, dict[str, str] | None]] = [
        ("board, recent", "/", None),
        ("board, top", "/?sort=top", None),
        ("board, trending", "/?sort=trending", None),
        ("board, discussed", "/?sort=discussed", None),
    ]
    if targets.theme:
        pages.append((f"theme {targets.theme}", f"/?theme={quote(targets.theme)}", None))
    if targets.territory:
        pages.append(
            (f"territory {targets.territory}", f"/?territory={quote(targets.territory)}", None)
        )
    if targets.theme and targets.territory:
        both = f"/?theme={quote(targets.theme)}&territory={quote(targets.territory)}&sort=top"
        pages.append(("theme + territory, top", both, None))
    pages += [
        ("search « creche »", "/?q=creche", None),
        ("search « creche », top", "/?q=creche&sort=top", None),
        ("search, 2 words", "/?q=transport+solidaire", None),
        ("page 2000, recent", "/?page=2000", None),
        ("page 2000, top", "/?sort=top&page=2000", None),
        ("board list (htmx)", "/?sort=trending", {"HX-Request": "true"}),
    ]
    if targets.need_path:
        pages.append((f"need page, {targets.need_comments} comments", targets.need_path, None))
    pages += [
        (
            "similar needs (htmx)",
            "/needs/similar?title=garde+enfants+horaires",
            {"HX-Request": "true"},
        ),
        # What partners' sites and feed readers ask for (issue 6): the embeds are cached per
        # board version, so a busy partner page costs a dictionary lookup, not a query.
        ("embed widget, 5 needs", "/embed/needs?limit=5", None),
        ("embed widget, partner ref", "/embed/needs?limit=5&ref=ville-de-merignac", None),
        ("Atom feed of needs", "/feeds/needs.atom", None),
        ("JSON API, 20 needs", "/api/v1/needs", None),
        ("board through a partner link (ref)", "/?ref=ville-de-merignac", None),
        ("/healthz", "/healthz", None),
    ]
    if targets.theme:
        pages.insert(
            -1,
            (
                f"embed widget, theme {targets.theme}",
                f"/embed/needs?limit=5&theme={quote(targets.theme)}",
                None,
            ),
        )

    server_env = {
        **env,
        "BOURSE_ENV": "production",
        "BOURSE_SECRET_KEY": secrets.token_urlsafe(32),
        "BOURSE_RATE_LIMITS": "off",
    }
    server = Server(server_env, workdir, args.workers)
    loaded: LoadResult | None = None
    try:
        server.wait_ready()
        log(f"server on {server.base_url} (pid {server.process.pid})")
        results: list[Result] = []
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            # What people actually follow: the "next page" link, which carries a keyset cursor.
            for sort in ("recent", "top"):
                deep = client.get(f"/?sort={sort}&page=1999").text
                found = re.search(r'<a rel="next" href="([^"]+)"', deep)
                if found:
                    href = found.group(1).replace("&amp;", "&")
                    pages.append((f"page 2000 via next link, {sort}", href, None))
            for label, path, headers in pages:
                results.append(measure(client, label, path, args.requests, args.seconds, headers))
        working = [r.path for r in results if r.ok and r.path != "/healthz"]
        if args.load_seconds > 0 and working:
            log(f"load: {args.clients} clients for {args.load_seconds:.0f} s")
            loaded = load(server.base_url, working, args.clients, args.load_seconds)
        memory = server.memory()
    finally:
        server.stop()
    print(report(args, engine_name, targets, size, build, results, loaded, memory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
