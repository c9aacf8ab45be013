"""The anonymous cache never misses a write made through another worker or another instance.

The real server (`bourse serve --workers 2`, production's uvicorn) serves anonymous pages from
each worker's memory; a « Moi aussi » given through the API — answered by either worker —
must show in every anonymous page served afterwards, by any worker. Then two instances on one
database (the way PostgreSQL installations grow; on the SQLite run, one SQLite file): a write
through one shows at once on the other.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.accounts import service as accounts
from app.core.db import make_engine
from app.ops.cli import migrate_database
from tests.conftest import create_pg_database, drop_pg_database
from tests.serving import bourse_serve

READS = 24  # enough that both workers answer some (the kernel spreads connections)


@pytest.fixture
def database_url(db_engine_name: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    if db_engine_name == "postgres":
        url = create_pg_database("bourse_cache")
        migrate_database(url)
        yield url
        drop_pg_database(url)
    else:
        url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        migrate_database(url)
        yield url


def _seed(database_url: str) -> tuple[int, str, str]:
    """A public need and a confirmed resident's personal token: (need id, its path, token)."""
    from app.board.models import Need
    from tests.factories import make_need, make_user

    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        need: Need = make_need(session, title="Une épicerie solidaire au centre-bourg")
        token = accounts.create_api_token(session, make_user(session), "Script")
    engine.dispose()
    return need.id, f"/needs/{need.id}-{need.slug}", token  # type: ignore[return-value]


def _count(html: str) -> str:
    found = re.search(r'id="support-count-\d+"[^>]*>([^<]+)<', html) or re.search(
        r"(Aucun soutien|\d+ soutiens?)", html
    )
    assert found, "no support count on the page"
    return found.group(1).strip()


def _reads(url: str, path: str) -> set[str]:
    counts = set()
    for _ in range(READS):
        # A new connection each time, so the kernel may hand it to either worker.
        response = httpx.get(url + path, timeout=10)
        assert response.status_code == 200
        counts.add(_count(response.text))
    return counts


def test_two_workers_show_a_support_at_once(tmp_path, database_url, free_tcp_port):
    need_id, path, token = _seed(database_url)
    # Several workers share a socket the parent binds: it needs a real port number (port 0
    # would give each its own).
    workers = ("--workers", "2", "--port", str(free_tcp_port))
    with bourse_serve(tmp_path, *workers, database_url=database_url) as (url, _db):
        assert _reads(url, path) == {"Aucun soutien"}  # both workers now hold the page

        given = httpx.put(
            f"{url}/api/v1/needs/{need_id}/support",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert given.status_code in (200, 201)

        assert _reads(url, path) == {"1 soutien"}
        assert all(
            "1 soutien" in httpx.get(f"{url}/embed/needs", timeout=10).text for _ in range(6)
        )


def test_two_instances_on_one_database(tmp_path, database_url):
    need_id, path, token = _seed(database_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        bourse_serve(tmp_path / "a", database_url=database_url) as (first, _db),
        bourse_serve(tmp_path / "b", database_url=database_url) as (second, _db2),
    ):
        assert _reads(second, path) == {"Aucun soutien"}
        assert _reads(first, path) == {"Aucun soutien"}

        given = httpx.put(
            f"{first}/api/v1/needs/{need_id}/support",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert given.status_code in (200, 201)

        assert _reads(second, path) == {"1 soutien"}
        # And back: a write through the second shows on the first.
        taken = httpx.delete(
            f"{second}/api/v1/needs/{need_id}/support",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert taken.status_code in (200, 204)
        assert _reads(first, path) == {"Aucun soutien"}
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT supports_count FROM needs WHERE id = :id"), {"id": need_id}
            ).scalar_one()
            == 0
        )
    engine.dispose()
