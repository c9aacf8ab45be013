"""Migrations: from empty to head, down to base and up again, and no drift from the models,
on the engine the suite runs on (SQLite by default, PostgreSQL with --db=postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app.board.search import is_search_object
from app.core.db import make_engine
from app.ops.cli import migrate_database
from app.web.content_version import is_content_version_object
from tests.conftest import create_pg_database, drop_pg_database


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not is_search_object(name) and not is_content_version_object(name)


@pytest.fixture
def empty_database(db_engine_name: str, tmp_path: Path) -> Iterator[str]:
    if db_engine_name == "postgres":
        url = create_pg_database("bourse_migr")
        yield url
        drop_pg_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from app import PROJECT_ROOT

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["url"] = url
    command.downgrade(config, revision)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_model_table(empty_database: str) -> None:
    migrate_database(empty_database)
    expected = {table.name for table in SQLModel.metadata.sorted_tables}
    assert expected <= _tables(empty_database)


def test_downgrade_to_base_then_upgrade_again(empty_database: str) -> None:
    migrate_database(empty_database)
    _downgrade(empty_database, "base")
    assert _tables(empty_database) <= {"alembic_version"}
    migrate_database(empty_database)
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= _tables(empty_database)


def test_migrating_twice_changes_nothing(empty_database: str) -> None:
    migrate_database(empty_database)
    before = _tables(empty_database)
    migrate_database(empty_database)
    assert _tables(empty_database) == before


def test_models_and_migrations_do_not_drift(empty_database: str) -> None:
    migrate_database(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object}
            )
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models differ from migrations; write a migration: {diff}"
