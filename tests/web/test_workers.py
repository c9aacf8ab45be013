"""`bourse serve --workers N` (app/ops/workers.py): a listening socket per worker, so the kernel
spreads connections between them; a worker that dies is replaced; SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.ops import workers
from tests.serving import BOURSE, bourse_process

pytestmark = pytest.mark.skipif(
    not workers.spreads_connections(), reason="one socket per worker is for Linux only"
)
DEADLINE_SECONDS = 30.0


def listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (Linux's table of TCP sockets)."""
    wanted = f"0100007F:{port:04X}"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        count += fields[1] == wanted and fields[3] == "0A"  # 0A: LISTEN
    return count


def children(pid: int) -> set[int]:
    """The worker processes of `bourse serve` (not multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"spawn_main" in command:
                found.add(int(child))
    return found


def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Polls `condition` until it holds (a process starting or ending has no event to wait
    for from here), failing after DEADLINE_SECONDS."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_each_worker_listens_on_its_own_socket_and_one_that_dies_is_replaced(tmp_path):
    with bourse_process(tmp_path, "--workers", "2") as (process, url, _db):
        port = int(url.rsplit(":", 1)[1])
        assert listeners(port) == 2
        first = children(process.pid)
        assert len(first) == 2

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        until(
            lambda: len(children(process.pid) - first) == 1 and listeners(port) == 2,
            "a new worker in its place, listening",
        )
        assert victim not in children(process.pid)
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200

        everyone = children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=DEADLINE_SECONDS) == 0
        assert listeners(port) == 0
        for pid in everyone:
            until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), f"worker {pid} to end")


def test_a_port_already_taken_stops_serve_at_once_with_the_reason(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [str(BOURSE), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("BOURSE_")},
                "BOURSE_ENV": "test",
                "BOURSE_DATA_DIR": str(tmp_path / "data"),
                "BOURSE_DATABASE_URL": f"sqlite:///{tmp_path / 'taken.sqlite3'}",
                "BOURSE_SECRET_KEY": "serve-test-secret-key",
            },
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
            check=False,
        )
    finally:
        taken.close()
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "in use" in done.stderr


def test_elsewhere_than_linux_serve_uses_uvicorns_supervisor(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not workers.spreads_connections()
