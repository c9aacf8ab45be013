"""`bourse backup DIR` (issue 15): a consistent copy of the database and the uploaded files,
taken while the site writes, restored the way the README says, with every row and file."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from sqlmodel import Session

from app.core.db import make_engine
from app.ops.cli import main as cli_main
from app.ops.demo.seed import seed_demo
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import make_need
from tests.test_transfer import _snapshot


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def site(session, settings, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A site with the demo's rows and two uploaded files, the commands pointed at it."""
    seed_demo(session, settings)
    uploads = tmp_path / "uploads"
    (uploads / "documents").mkdir(parents=True)
    (uploads / "logos").mkdir()
    (uploads / "documents" / "etude.pdf").write_bytes(b"%PDF-1.7 une etude" * 100)
    (uploads / "logos" / "mairie.png").write_bytes(b"\x89PNG\r\n\x1a\nlogo")
    monkeypatch.setenv("BOURSE_ENV", "test")
    monkeypatch.setenv("BOURSE_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("BOURSE_UPLOAD_DIR", str(uploads))
    monkeypatch.setenv("BOURSE_SECRET_KEY", "test-secret-key")
    return settings.sqlalchemy_url, uploads


def _restore(copy: Path, manifest: dict) -> str:  # type: ignore[type-arg]
    """As the README says: the SQLite file is the database; a dump goes through pg_restore."""
    if manifest["engine"] == "sqlite":
        return f"sqlite:///{copy / 'bourse.sqlite3'}"
    url = create_pg_database("bourse_restore")
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--dbname", plain, str(copy / "bourse.pgdump")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return url


def test_a_backup_restores_every_row_and_file(site, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, uploads = site
    copy = tmp_path / "copie"
    assert cli_main(["backup", str(copy)]) == 0
    assert "fichier(s)" in capsys.readouterr().err
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["files"] == 2 and manifest["revision"]
    restored = _restore(copy, manifest)
    try:
        assert _snapshot(restored) == _snapshot(url)
        assert {k: len(v) for k, v in _snapshot(restored).items()} == manifest["rows"]
    finally:
        if manifest["engine"] == "postgresql":
            drop_pg_database(restored)
    assert _files(copy / "uploads") == _files(uploads)


def test_a_backup_taken_while_needs_are_written_is_consistent(site, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    url, _uploads = site
    stop, started = threading.Event(), threading.Event()
    written: list[int] = []

    def write() -> None:
        engine = make_engine(url)
        with Session(engine) as session:
            while not stop.is_set():
                written.append(
                    make_need(session, title=f"Écrit pendant la copie {len(written)}").id
                )
                started.set()
        engine.dispose()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert started.wait(timeout=30)  # the writer is under way before the copy starts
        assert cli_main(["backup", str(tmp_path / "copie")]) == 0
    finally:
        stop.set()
        writer.join(timeout=30)
    manifest = json.loads((tmp_path / "copie" / "manifest.json").read_text())
    restored = _restore(tmp_path / "copie", manifest)
    try:
        rows = _snapshot(restored)
        ids = {n["id"] for n in rows["needs"]}
        # A snapshot: the needs written during the copy are in it up to some point, none after.
        kept = [i for i in written if i in ids]
        assert kept == written[: len(kept)]
        assert manifest["rows"]["needs"] == len(rows["needs"])
    finally:
        if manifest["engine"] == "postgresql":
            drop_pg_database(restored)


def test_a_folder_that_is_not_empty_is_refused(site, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    busy = tmp_path / "occupe"
    busy.mkdir()
    (busy / "autre.txt").write_text("à garder")
    assert cli_main(["backup", str(busy)]) == 1
    assert "n'est pas vide" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["autre.txt"]
