"""export-data / import-data carry the uploaded files too (issue 15): ideas' documents and
partners' logos, byte for byte, and a failed import leaves neither rows nor files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import make_engine
from app.ops import transfer
from app.ops.cli import main as cli_main
from app.ops.cli import migrate_database
from app.ops.transfer import TransferError, export_data, import_data
from tests.factories import make_need
from tests.test_transfer import empty_target  # noqa: F401  (the fixture: SQLite and PostgreSQL)


@pytest.fixture
def target(empty_target: str) -> str:  # noqa: F811
    migrate_database(empty_target)  # the cross-engine one comes unmigrated
    return empty_target


def _uploads(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "documents/etude-opportunite.pdf": os.urandom(2500),  # three parts of 1,000 bytes
        "documents/vide.odt": b"",
        "logos/mairie.png": b"\x89PNG\r\n\x1a\n" + os.urandom(300),
    }
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    (root / "documents" / ".cache").write_bytes(b"not a stored file")
    (root / "ailleurs.txt").write_bytes(b"not under documents/ or logos/")
    return files


def _files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def _count_needs(url: str) -> int:
    from app.board.models import Need

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Need)).scalar_one()
    finally:
        engine.dispose()


def test_the_files_go_and_come_back_byte_for_byte(
    session,
    settings,
    tmp_path,
    monkeypatch,
    target,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(transfer, "FILE_CHUNK", 1000)
    make_need(session, title="Une laverie solidaire")
    sent = _uploads(tmp_path / "source-uploads")
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        rows = export_data(make_engine(settings.sqlalchemy_url), out, tmp_path / "source-uploads")
    lines = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    parts = [r for r in lines if r.get("file") == "documents/etude-opportunite.pdf"]
    assert [p.get("offset") for p in parts] == [0, 1000, 2000, None]  # three parts, then the check

    moved = tmp_path / "target-uploads"
    assert import_data(make_engine(target), dump, moved) == rows
    assert _files_under(moved) == sent  # same names, same bytes; nothing else
    assert not any(p.name.startswith(".import-") for p in moved.iterdir())
    assert _count_needs(target) == 1


@pytest.mark.parametrize(
    "spoil",
    ["truncated", "wrong digest", "bad base64", "escaping name", "unknown folder", "out of order"],
)
def test_a_spoiled_file_leaves_neither_rows_nor_files(
    session,
    settings,
    tmp_path,
    monkeypatch,
    target,
    spoil,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(transfer, "FILE_CHUNK", 1000)
    make_need(session, title="Une laverie solidaire")
    _uploads(tmp_path / "source-uploads")
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        export_data(make_engine(settings.sqlalchemy_url), out, tmp_path / "source-uploads")
    lines = dump.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    first = next(i for i, r in enumerate(records) if "data" in r)
    if spoil == "truncated":
        lines = lines[:-1]  # the last file's check is missing
    elif spoil == "wrong digest":
        check = next(i for i, r in enumerate(records) if "sha256" in r)
        lines[check] = json.dumps({**records[check], "sha256": "0" * 64})
    elif spoil == "bad base64":
        lines[first] = json.dumps({**records[first], "data": "pas du base64 !"})
    elif spoil == "escaping name":
        lines[first] = json.dumps({**records[first], "file": "documents/../../../etc/passwd"})
    elif spoil == "unknown folder":
        lines[first] = json.dumps({**records[first], "file": "static/app.css"})
    else:
        lines[first + 1], lines[first + 2] = lines[first + 2], lines[first + 1]
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")

    moved = tmp_path / "target-uploads"
    with pytest.raises(TransferError) as refused:
        import_data(make_engine(target), dump, moved)
    assert "fichier" in str(refused.value) or "ligne" in str(refused.value)
    assert _count_needs(target) == 0  # the rows were rolled back
    assert not moved.exists() or _files_under(moved) == {}
    assert not moved.exists() or list(moved.iterdir()) == []
    assert not (tmp_path / "etc").exists()


def test_files_without_a_place_to_go_are_refused(session, settings, tmp_path, target) -> None:  # type: ignore[no-untyped-def]
    _uploads(tmp_path / "source-uploads")
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        export_data(make_engine(settings.sqlalchemy_url), out, tmp_path / "source-uploads")
    with pytest.raises(TransferError, match="fichiers"):
        import_data(make_engine(target), dump)


def test_the_commands_move_the_files_of_the_upload_directory(
    session,
    settings,
    tmp_path,
    monkeypatch,
    capsys,
    target,
) -> None:  # type: ignore[no-untyped-def]
    sent = _uploads(tmp_path / "source-uploads")
    monkeypatch.setenv("BOURSE_ENV", "test")
    monkeypatch.setenv("BOURSE_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("BOURSE_UPLOAD_DIR", str(tmp_path / "source-uploads"))
    dump = tmp_path / "dump.jsonl"
    assert cli_main(["export-data", str(dump)]) == 0
    assert "3 fichier(s) exporté(s)" in capsys.readouterr().err

    monkeypatch.setenv("BOURSE_DATABASE_URL", target)
    monkeypatch.setenv("BOURSE_UPLOAD_DIR", str(tmp_path / "moved-uploads"))
    assert cli_main(["import-data", str(dump)]) == 0
    assert "3 fichier(s) importé(s)" in capsys.readouterr().err
    assert _files_under(tmp_path / "moved-uploads") == sent
