"""Where the time of one page goes: a CPU profile of every thread (the route runs in a worker
thread, so a single-thread profiler sees only the client waiting) over N requests of one page,
as a resident, an admin or an anonymous visitor, on the benchmark's database.

    .venv/bin/pip install yappi                   # once: a profiler that follows threads
    .venv/bin/python bench/profile_page.py /                       # signed-in board, SQLite
    .venv/bin/python bench/profile_page.py /moderation/ --as admin --requests 20
    .venv/bin/python bench/profile_page.py / --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_load

The database is bench/load.py's (built and its accounts created by a run of it). Prints the
mean wall time per request without the profiler, then the functions by total and by own CPU
time per request (milliseconds; the profiler inflates them about fourfold, compare shares).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ACCOUNTS = {
    "resident": "habitant@bench-load.bourse.example",
    "admin": "admin@bench-load.bourse.example",
}
PASSWORD = "bench-load-mot-de-passe-2026"  # bench/load.py's BENCH_PASSWORD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="the page, e.g. / or /needs/3291-…, or a need id")
    parser.add_argument(
        "--toggle",
        action="store_true",
        help="« Moi aussi » given and withdrawn in turn on the need `path` (API PUT/DELETE "
        "with a new token of the account)",
    )
    parser.add_argument(
        "--as", dest="who", choices=["resident", "admin", "anonymous"], default="resident"
    )
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--database-url", default=f"sqlite:///{ROOT / 'data' / 'bench' / 'load.sqlite3'}"
    )
    parser.add_argument("--top", type=int, default=40, help="rows of each list, 0: no profile")
    args = parser.parse_args()
    try:
        import yappi
    except ImportError:
        raise SystemExit("yappi is missing: .venv/bin/pip install yappi") from None

    os.environ.update(
        BOURSE_ENV="production",
        BOURSE_RATE_LIMITS="off",
        BOURSE_DATABASE_URL=args.database_url,
        BOURSE_SECRET_KEY=os.environ.get("BOURSE_SECRET_KEY", "profile-" + "0123456789" * 4),
    )
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app()
    # https: production cookies are Secure, and the client must send them back.
    with TestClient(app, base_url="https://127.0.0.1") as client:
        if args.who != "anonymous":
            sign_in(client, ACCOUNTS[args.who])
        request = page_request(client, args)
        for _ in range(6):  # templates compiled, caches filled
            answer = request()
        # Five rounds, the fastest kept: on a shared machine the others' load only adds time.
        rounds = []
        for _ in range(5):
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(max(args.requests // 5, 1)):
                request()
            count = max(args.requests // 5, 1)
            rounds.append(
                (
                    (time.perf_counter() - started) / count * 1000,
                    (time.process_time() - cpu) / count * 1000,
                )
            )
        wall, cpu_ms = min(rounds)
        if args.top:  # --top 0: the timing alone
            yappi.set_clock_type("cpu")
            yappi.start()
            for _ in range(args.requests):
                request()
            yappi.stop()

    print(
        f"{args.who} {args.path}: {answer.status_code}, {len(answer.content):,} bytes, "
        f"{wall:.1f} ms per request without the profiler ({cpu_ms:.1f} ms of CPU; the "
        f"fastest of 5 rounds)"
    )
    rows = []
    for stat in yappi.get_func_stats():
        where = stat.module.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        rows.append((stat.ttot, stat.tsub, stat.ncall, f"{where}:{stat.lineno} {stat.name}"))
    n = args.requests
    for title, key in (("by total time", 0), ("by own time", 1)):
        print(f"\n{title} (ms per request, calls per request)")
        for total, own, calls, name in sorted(rows, key=lambda r: -r[key])[: args.top]:
            print(f"{total / n * 1000:8.2f} {own / n * 1000:7.2f} {calls / n:8.1f}  {name}")


def page_request(client, args):  # type: ignore[no-untyped-def]
    """The request to repeat: a GET of the page, or a support given then withdrawn."""
    if not args.toggle:
        return lambda: client.get(args.path)
    from app.accounts import service
    from app.core.db import session_scope

    with session_scope(client.app.state.engine) as session:
        user = service.user_by_email(session, ACCOUNTS[args.who])
        token = service.create_api_token(session, user, "bench/profile_page.py")
    url = f"/api/v1/needs/{args.path}/support"
    headers = {"Authorization": f"Bearer {token}"}
    turn = iter(range(10**9))

    def toggle():  # type: ignore[no-untyped-def]
        method = client.put if next(turn) % 2 == 0 else client.delete
        answer = method(url, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer

    return toggle


def sign_in(client, email: str) -> None:  # type: ignore[no-untyped-def]
    """Through the login page's own form: its hidden fields, then e-mail and password."""
    page = client.get("/account/login").text
    form = page[page.index('action="/account/login"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    fields.update(email=email, password=PASSWORD)
    answer = client.post("/account/login", data=fields, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(
            f"sign-in as {email} failed ({answer.status_code}): run bench/load.py once"
        )


if __name__ == "__main__":
    main()
