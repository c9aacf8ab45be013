"""export-data / import-data move every row between databases, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from app.accounts import service
from app.core.db import make_engine
from app.core.site_config import SiteSetting
from app.ops.cli import main as cli_main
from app.ops.cli import migrate_database
from app.ops.demo.seed import seed_demo
from app.ops.transfer import TransferError, export_data, import_data
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import make_need, make_user, post_form


def _snapshot(url: str) -> dict[str, list[dict]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [
                    dict(r) for r in conn.execute(select(t).order_by(*t.primary_key)).mappings()
                ]
                for t in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def populated(app, session, client, settings) -> str:  # type: ignore[no-untyped-def]
    seed_demo(session, settings)
    # A need merged into a newer one: the row points forward to a row imported after it.
    older, newer = make_need(session), make_need(session)
    older.status, older.merged_into_id = "merged", newer.id
    session.add(older)
    session.add(SiteSetting(key="blocked_words", value=["crédit rapide"]))
    session.commit()
    user = make_user(session, display_name="Zoé « l'Ardente » <b>")
    service.create_api_token(session, user, "Site de la mairie")
    post_form(
        client,
        "/account/signup",
        {"email": "new@exemple.fr", "display_name": "Nouvelle", "password": ""},
    )
    return settings.sqlalchemy_url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_target(request, db_engine_name: str, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    # Each engine imports into itself; the PostgreSQL run also crosses to and from SQLite.
    if request.param == "postgres" and db_engine_name != "postgres":
        yield f"sqlite:///{tmp_path / 'target-again.sqlite3'}"
        return
    if request.param == "postgres":
        url = create_pg_database("bourse_import")
        migrate_database(url)
        yield url
        drop_pg_database(url)
        return
    url = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    migrate_database(url)
    yield url


def test_export_then_import_reproduces_every_row(
    populated: str, empty_target: str, tmp_path: Path
) -> None:
    migrate_database(empty_target)
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        exported = export_data(make_engine(populated), out)
    assert exported > 10
    assert import_data(make_engine(empty_target), dump) == exported
    assert _snapshot(empty_target) == _snapshot(populated)


def test_ids_keep_growing_after_an_import(
    populated: str, empty_target: str, tmp_path: Path
) -> None:
    migrate_database(empty_target)
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        export_data(make_engine(populated), out)
    import_data(make_engine(empty_target), dump)
    engine = make_engine(empty_target)
    with Session(engine) as session:
        newcomer = make_user(session)
        assert newcomer.id is not None
        assert newcomer.id > max(u["id"] for u in _snapshot(populated)["users"])
    engine.dispose()


def test_import_refuses_a_database_that_is_not_empty(populated: str, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        export_data(make_engine(populated), out)
    with pytest.raises(TransferError, match="n'est pas vide"):
        import_data(make_engine(populated), dump)


def test_import_refuses_a_file_that_is_not_an_export(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"hello": "world"}\n')
    with pytest.raises(TransferError, match="n'est pas un export"):
        import_data(make_engine(settings.sqlalchemy_url), bogus)


def test_cli_import_of_a_missing_file_fails_with_a_message(monkeypatch, settings, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOURSE_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("BOURSE_ENV", "test")
    assert cli_main(["import-data", "/nonexistent/dump.jsonl"]) == 1
    assert "introuvable" in capsys.readouterr().err


def test_cli_export_writes_json_lines(monkeypatch, populated: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOURSE_DATABASE_URL", populated)
    monkeypatch.setenv("BOURSE_ENV", "test")
    target = tmp_path / "out.jsonl"
    assert cli_main(["export-data", str(target)]) == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith('{"format": "bourse-export/1"')
    assert any("Site de la mairie" in line for line in lines)
