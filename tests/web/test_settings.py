"""Settings: production refuses to start without a secret, development keeps the secret it
generated, and every SQLite connection is set up for a web server, a worker and a CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.settings import MissingSecretKey, Settings
from app.main import create_app
from tests.conftest import pg_admin_url
from tests.web.helpers import make_settings

BOURSE = Path(sys.executable).parent / "bourse"


def test_production_without_a_secret_key_refuses_to_create_the_app(tmp_path, database_url):
    settings = make_settings(tmp_path, env="production", secret_key="", database_url=database_url)
    with pytest.raises(MissingSecretKey, match="BOURSE_SECRET_KEY"):
        create_app(settings)


def test_production_with_a_secret_key_starts(tmp_path, database_url):
    settings = make_settings(
        tmp_path, env="production", secret_key="x" * 48, database_url=database_url
    )
    app = create_app(settings)
    try:
        assert app.state.settings.signing_key == "x" * 48
    finally:
        app.state.engine.dispose()


def test_bourse_serve_in_production_without_secret_exits_with_a_one_line_message(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOURSE_")}
    env.update(
        BOURSE_ENV="production",
        BOURSE_DATA_DIR=str(tmp_path / "data"),
        BOURSE_DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'db.sqlite3'}",
    )
    # Run from an empty directory, so no .env file can supply a secret.
    result = subprocess.run(
        [str(BOURSE), "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    message = result.stderr.strip()
    assert "BOURSE_SECRET_KEY" in message
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in result.stderr
    # It never got as far as listening.
    assert "Uvicorn running" not in result.stderr + result.stdout


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    data_dir = tmp_path / "data"
    first = Settings(env="development", secret_key="", data_dir=data_dir, _env_file=None)
    key = first.signing_key
    assert len(key) >= 32
    key_file = data_dir / "secret_key"
    assert key_file.read_text().strip() == key
    # Only the owner may read it.
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = Settings(env="development", secret_key="", data_dir=data_dir, _env_file=None)
    assert second.signing_key == key


def test_each_development_checkout_gets_its_own_secret(tmp_path):
    one = Settings(env="development", secret_key="", data_dir=tmp_path / "a", _env_file=None)
    two = Settings(env="development", secret_key="", data_dir=tmp_path / "b", _env_file=None)
    assert one.signing_key != two.signing_key


def test_an_explicit_secret_key_is_used_as_given(tmp_path):
    settings = Settings(
        env="development", secret_key="given", data_dir=tmp_path / "data", _env_file=None
    )
    assert settings.signing_key == "given"
    assert not (tmp_path / "data" / "secret_key").exists()


def test_settings_are_read_from_bourse_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("BOURSE_BASE_URL", "https://bourse.example.org/")
    monkeypatch.setenv("BOURSE_ENV", "production")
    monkeypatch.setenv("BOURSE_SECRET_KEY", "from-the-environment")
    settings = Settings(_env_file=None)
    assert settings.base_url == "https://bourse.example.org"
    assert settings.is_production
    assert settings.signing_key == "from-the-environment"


def test_the_default_database_is_a_sqlite_file_under_the_data_directory(tmp_path):
    settings = Settings(env="test", database_url="", data_dir=tmp_path / "data", _env_file=None)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'data' / 'bourse.sqlite3'}"


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app, db_engine_name):
    engine = app.state.engine
    if db_engine_name != "sqlite":
        assert engine.dialect.name == "postgresql"
        return
    assert engine.dialect.name == "sqlite"
    # Two connections at once: the pragmas are set on every connection, not only the first.
    with engine.connect() as first, engine.connect() as second:
        for conn in (first, second):
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_the_default_sqlite_database_uses_wal_too(tmp_path):
    settings = Settings(env="test", database_url="", data_dir=tmp_path / "data", _env_file=None)
    app = create_app(settings)
    try:
        with app.state.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        app.state.engine.dispose()


def test_a_postgresql_connection_the_server_closed_is_replaced(app, db_engine_name, monkeypatch):
    """Pooled PostgreSQL connections are tested only after a few idle seconds
    (app.core.db.IDLE_PING_SECONDS): a stale one is then replaced before use; one used a moment
    ago fails once, and the pool hands out new connections from then on."""
    from sqlalchemy.exc import OperationalError

    from app.core import db

    engine = app.state.engine
    if db_engine_name != "postgres":
        assert engine.dialect.name == "sqlite"
        return

    def backend() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def terminate(pid: int) -> None:
        admin = db.make_engine(pg_admin_url())
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        admin.dispose()

    first = backend()
    terminate(first)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    second = backend()  # tested at checkout, replaced: no error
    assert second != first

    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    terminate(second)
    with pytest.raises(OperationalError):
        backend()
    assert backend() not in (first, second)
