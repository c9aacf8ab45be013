"""`bourse backup DIR`: a consistent copy of the database and the uploaded files, taken while
the site runs (issue 15).

- SQLite: the database through SQLite's online backup API (`sqlite3.Connection.backup`), a
  consistent snapshot even while requests write; the copy is checked (`PRAGMA
  integrity_check`). Restoring: stop the site, put `bourse.sqlite3` where BOURSE_DATABASE_URL
  points (or data/bourse.sqlite3), the `uploads/` folder where BOURSE_UPLOAD_DIR points.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, the server keeps serving)
  into `bourse.pgdump`, when `pg_dump` is installed; restoring: `createdb` a new database,
  `pg_restore --no-owner --dbname=URL bourse.pgdump`, uploads as above.

Uploaded files are copied after the database: a file uploaded in between is in the copy of
the folder but not in the rows, which is harmless (a file without a row is never served),
whereas the other order could leave a row without its file. `manifest.json` says when, from
which schema revision, and how many rows and files the copy holds.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.db import is_sqlite, make_engine
from app.ops.transfer import schema_revision, stored_files


class BackupError(Exception):
    """A backup that could not be taken, with a message for the operator (French)."""


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _read_counts(conn: Connection) -> tuple[str | None, dict[str, int]]:
    revision = schema_revision(conn)
    counts = {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in SQLModel.metadata.sorted_tables
    }
    return revision, counts


def _counts(url: str) -> tuple[str | None, dict[str, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return _read_counts(conn)
    finally:
        engine.dispose()


def _copy_sqlite(url: str, target: Path) -> None:
    source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy, pages=1024)  # in steps: writers are not held up for long
        checked = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if checked != "ok":
            raise BackupError(f"la copie de la base est abîmée ({checked}).")
    finally:
        copy.close()
        source.close()


def _dump_postgres(url: str, target: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump of the snapshot this transaction exports, so that the manifest's counts are
    the dump's, whatever is written meanwhile."""
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "pg_dump est introuvable : installez le client PostgreSQL (paquet postgresql-client) "
            "ou lancez vous-même pg_dump --format=custom."
        )
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            found = _read_counts(conn)
            done = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                 "--file", str(target), plain],
                capture_output=True,
                text=True,
            )  # fmt: skip
            conn.rollback()
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {done.stderr.strip()[:500]}")
    return found


def _copy_uploads(uploads: Path, target: Path) -> int:
    count = 0
    for relative, path in stored_files(uploads):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
        count += 1
    return count


def backup(url: str, uploads: Path, directory: Path) -> dict[str, Any]:
    """Takes the copy into `directory` (created; it must be empty) and returns its manifest."""
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} n'est pas vide : choisissez un dossier neuf.")
    directory.mkdir(parents=True, exist_ok=True)
    if is_sqlite(url):
        database = directory / "bourse.sqlite3"
        _copy_sqlite(url, database)
        # The counts of the copy itself, which is what a restore gets.
        revision, counts = _counts(f"sqlite:///{database}")
    else:
        database = directory / "bourse.pgdump"
        revision, counts = _dump_postgres(url, database)
    files = _copy_uploads(uploads, directory / "uploads")
    manifest = {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": "sqlite" if is_sqlite(url) else "postgresql",
        "database": database.name,
        "revision": revision,
        "rows": counts,
        "files": files,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
