"""Running the real server in a test: `bourse serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.ops.cli import migrate_database

BOURSE = Path(sys.executable).parent / "bourse"
START_TIMEOUT = 30.0
SECRET_KEY = "serve-test-secret-key"


def bourse_environment(
    tmp_path: Path, database_url: str, env: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a `bourse` command run by a test: this one's without its BOURSE_
    settings (nor FORWARDED_ALLOW_IPS), test mode, a data directory under `tmp_path`, the
    given database, then `env` on top."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key != "FORWARDED_ALLOW_IPS" and not key.startswith("BOURSE_")
    }
    environment.update(
        BOURSE_ENV="test",
        BOURSE_DATA_DIR=str(tmp_path / "data"),
        BOURSE_DATABASE_URL=database_url,
        BOURSE_SECRET_KEY=SECRET_KEY,
        **(env or {}),
    )
    return environment


@contextmanager
def bourse_serve(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    database_url: str | None = None,
) -> Iterator[tuple[str, str]]:
    """Runs `bourse serve` (the console script: uvicorn exactly as in production) on a free
    loopback port; yields (its URL, its database URL) once /healthz answers, and stops it on
    the way out. Without `database_url`, a SQLite file of its own, migrated here."""
    with bourse_process(tmp_path, *args, env=env, database_url=database_url) as (_p, url, db):
        yield url, db


@contextmanager
def bourse_process(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    database_url: str | None = None,
    output: list[str] | None = None,
) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """bourse_serve(), yielding the process too; `output`, when given, receives every line the
    server writes to its log, as it writes them."""
    if database_url is None:
        database_url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
        migrate_database(database_url)
    process = subprocess.Popen(
        # Port 0: the system picks a free port, which uvicorn prints once it listens.
        [str(BOURSE), "serve", "--host", "127.0.0.1", "--port", "0", *args],
        cwd=tmp_path,  # no .env file around
        env=bourse_environment(tmp_path, database_url, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read_log() -> None:  # drains stderr, so the server never blocks on a full pipe
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
            if output is not None:
                output.append(line)
        lines.put(None)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    log: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        url = None
        # Ready when it listens and every worker has started (uvicorn prints the address
        # before its workers are up).
        workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
        started = 0
        while url is None or started < workers:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("bourse serve did not start in time:\n" + "".join(log))
            if line is None:
                pytest.fail("bourse serve stopped:\n" + "".join(log))
            log.append(line)
            found = re.search(r"Uvicorn running on (http://[\d.]+:\d+)", line)
            url = found.group(1) if found else url
            started += "Application startup complete" in line
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        yield process, url, database_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
