"""Memory of the workers over a long run: RSS per worker after each step of requests.

    .venv/bin/python bench/memory.py [--database-url URL] [--total 1000000] [--step 100000]

Uses the database of bench/load.py (built by it when missing, with its accounts), starts
`bourse serve --workers 2` with production settings, and sends wrk's load in turns over the
pages a busy site serves: the signed-in resident's board (default, top, search, deep page) and
need page, the moderation queue and staff idea board, the same pages anonymously, and « Moi
aussi » toggles through the API (writes, so every shared render is made again). After each
`--step` requests it prints each worker's current and peak RSS (/proc/<pid>/status), and at the
end whether the current RSS grew between the second step and the last (issue 13: < 150 MB per
worker, no growth).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

import board
import load


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=f"sqlite:///{load.DEFAULT_SQLITE}")
    p.add_argument("--needs", type=int, default=100_000, help="generated needs wanted")
    p.add_argument("--total", type=int, default=1_000_000, help="requests in all")
    p.add_argument("--step", type=int, default=100_000, help="requests between two readings")
    p.add_argument("--slice", type=int, default=3, help="seconds of wrk per page and turn")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--token-accounts", type=int, default=8)
    p.add_argument("--rebuild", action="store_true")
    return p.parse_args(argv)


def workers_rss(server: board.Server) -> list[tuple[int, int, int]]:
    """(pid, current, peak) RSS in MB of the worker processes (not the supervisor)."""
    root = server.process.pid
    return [
        (pid, current // 1024, peak // 1024)
        for pid, peak, current in server.memory()
        if load.process_role(pid, root) == "worker"
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.follow = 5
    workdir = Path(tempfile.mkdtemp(prefix="bourse-memory-"))
    env = board.bourse_env(args.database_url, workdir / "data", BOURSE_ENV="test")
    load.log(load.prepare_database(args, env, workdir))
    engine = create_engine(args.database_url)
    targets = board.find_targets(engine)
    tokens = load.make_accounts(env, workdir, args.token_accounts)
    need_ids = load.toggle_needs(engine, 50)
    pairs = workdir / "toggle-pairs.txt"
    pairs.write_text("".join(f"{t} {n}\n" for n in need_ids for t in tokens.values()))
    server_env = {
        **env,
        "BOURSE_ENV": "production",
        "BOURSE_SECRET_KEY": secrets.token_urlsafe(32),
        "BOURSE_RATE_LIMITS": "off",
    }
    options = load.WrkOptions(2, args.connections, 30)
    with (
        load.running(board.Server(server_env, workdir, args.workers), "bourse serve") as server,
        httpx.Client(base_url=server.base_url, timeout=60) as client,
    ):
        base = server.base_url
        rows = load.anonymous_rows(client, base, targets, args)
        rows = [r for r in rows if r.key in ("board", "board-top", "search", "need")]
        rows += load.signed_in_rows(client, base, targets, args)
        pages = [(r.path, r.headers) for r in rows]
        load.log(f"{len(pages)} pages and the toggles, {args.slice} s each per turn")
        heads = " | ".join(f"worker {i + 1} RSS (peak), MB" for i in range(args.workers))
        print(f"| requests | {heads} |")
        print("| ---: |" + " ---: |" * args.workers)
        readings: list[list[int]] = []
        done = next_reading = 0
        next_reading = args.step
        started = time.monotonic()
        while done < args.total:
            for path, headers in [*pages, (None, {})]:
                if path is None:
                    result = load.run_wrk(
                        base,
                        options,
                        args.slice,
                        script=load.WRK_SCRIPTS / "toggles.lua",
                        script_args=[str(pairs)],
                    )
                else:
                    result = load.run_wrk(base + path, options, args.slice, headers=headers)
                done += result.requests
                if result.status_errors or result.socket_errors:
                    load.log(f"!! {path or 'toggles'}: {result.status_errors} errors")
            if done >= next_reading:
                rss = workers_rss(server)
                readings.append([current for _pid, current, _peak in rss])
                cells = " | ".join(f"{current} ({peak})" for _pid, current, peak in rss)
                print(f"| {done:,} | {cells} |", flush=True)
                next_reading += args.step
        elapsed = time.monotonic() - started
    pairs.unlink(missing_ok=True)
    load.log(f"{done:,} requests in {elapsed / 60:.1f} min")
    if len(readings) >= 2:
        growth = [last - second for second, last in zip(readings[1], readings[-1], strict=False)]
        print(f"\nGrowth from the second reading to the last, per worker: {growth} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
