"""`bourse export-data` / `bourse import-data`: the whole database as JSON Lines, and the
uploaded files with it.

One line per row, tables in dependency order, preceded by a header line naming the schema
revision. Values are JSON-native, timestamps are RFC 3339 strings in UTC. The same file loads
into SQLite or PostgreSQL, which is how an installation moves from one to the other.
Import requires a freshly migrated, empty database at the same revision (nothing is merged).

After the rows come the uploaded files (ideas' documents and partners' logos, under
BOURSE_UPLOAD_DIR's `documents/` and `logos/`), so that one file moves everything: each file as
lines `{"file": "documents/<stored name>", "offset": n, "data": "<base64>"}` of at most
FILE_CHUNK bytes, then `{"file": …, "size": n, "sha256": "…"}`. The rows name the files by
their stored names, so the same access rules apply after the move. On import the files are
written aside first and put in place only once the rows are committed and every file's size
and digest match: a failed import leaves neither rows nor files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, Table, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.db import UTCDateTime
from app.pipeline.uploads import stored_path

FORMAT = "bourse-export/1"
BATCH = 500
FILE_CHUNK = 1024 * 1024  # bytes of a file per line (1.4 MB of base64): memory stays bounded
# The folders of BOURSE_UPLOAD_DIR that hold what the rows point to (app/pipeline/uploads.py).
UPLOAD_FOLDERS = ("documents", "logos")


class TransferError(Exception):
    """A file that cannot be imported, with a message meant for the operator."""


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def schema_revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        yield {"format": FORMAT, "revision": schema_revision(conn)}
        for table in _tables():
            order = list(table.primary_key.columns)
            for row in conn.execute(select(table).order_by(*order)).mappings():
                yield {"table": table.name, "row": {k: _encode(v) for k, v in row.items()}}


def stored_files(uploads: Path) -> Iterator[tuple[str, Path]]:
    """The uploaded files the rows can point to: (`<folder>/<stored name>`, path), in order."""
    for folder in UPLOAD_FOLDERS:
        directory = uploads / folder
        if directory.is_dir():
            for path in sorted(directory.iterdir()):
                if path.is_file() and _safe_name(path.name):
                    yield f"{folder}/{path.name}", path


def _safe_name(name: str) -> bool:
    # The uploads' own rule for a stored name: a plain name that cannot leave its folder.
    return stored_path(Path(), name) is not None


def export_files(uploads: Path) -> Iterator[dict[str, Any]]:
    for relative, path in stored_files(uploads):
        digest, offset = hashlib.sha256(), 0
        with path.open("rb") as fh:
            while chunk := fh.read(FILE_CHUNK):
                digest.update(chunk)
                yield {"file": relative, "offset": offset, "data": base64.b64encode(chunk).decode()}
                offset += len(chunk)
        yield {"file": relative, "size": offset, "sha256": digest.hexdigest()}


def export_data(engine: Engine, out: IO[str], uploads: Path | None = None) -> int:
    """Writes the rows, then the files under `uploads` (none when None); returns the number
    of rows."""
    count = 0
    for record in export_rows(engine):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += "table" in record
    if uploads is not None:
        for record in export_files(uploads):
            out.write(json.dumps(record) + "\n")
    return count


class _IncomingFiles:
    """Files read from an export, written aside (a hidden folder of the upload directory, so
    that putting them in place is a rename on the same disk) until the rows are committed."""

    def __init__(self, uploads: Path | None) -> None:
        self.uploads = uploads
        self.aside = uploads / f".import-{uuid.uuid4().hex}" if uploads is not None else None
        self.done: dict[str, int] = {}
        self.sizes: dict[str, int] = {}
        self.digests: dict[str, Any] = {}

    def take(self, record: dict[str, Any], number: int) -> None:
        relative = record.get("file")
        folder, _, name = str(relative).partition("/")
        if folder not in UPLOAD_FOLDERS or not _safe_name(name):
            raise TransferError(f"ligne {number} : nom de fichier refusé ({relative!r}).")
        if self.aside is None:
            raise TransferError("l'export contient des fichiers : indiquez où les déposer.")
        target = self.aside / folder / name
        if "sha256" in record:  # the file is complete: check it
            if (
                record.get("size") != self.sizes.get(relative, 0)
                or record.get("sha256") != self.digests.get(relative, hashlib.sha256()).hexdigest()
            ):
                raise TransferError(f"ligne {number} : le fichier {relative} est incomplet.")
            self.done[relative] = self.sizes.get(relative, 0)
            if not target.exists():  # an empty file has no data line
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
            return
        try:
            data = base64.b64decode(record["data"], validate=True)
        except (KeyError, ValueError, TypeError):
            raise TransferError(f"ligne {number} : contenu de fichier illisible.") from None
        if record.get("offset") != self.sizes.get(relative, 0) or relative in self.done:
            raise TransferError(f"ligne {number} : morceau de {relative} hors d'ordre.")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("ab") as fh:
            fh.write(data)
        self.sizes[relative] = self.sizes.get(relative, 0) + len(data)
        self.digests.setdefault(relative, hashlib.sha256()).update(data)

    def check(self) -> None:
        unfinished = sorted(set(self.sizes) - set(self.done))
        if unfinished:
            raise TransferError(f"le fichier {unfinished[0]} est incomplet (fin de l'export).")
        assert self.uploads is not None or not self.done
        for relative in self.done:
            final = self.uploads / relative  # type: ignore[operator]
            if final.exists() and final.read_bytes() != (self.aside / relative).read_bytes():  # type: ignore[operator]
                raise TransferError(f"{final} existe déjà avec un autre contenu.")

    def put_in_place(self) -> int:
        for relative in self.done:
            final = self.uploads / relative  # type: ignore[operator]
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.aside / relative, final)  # type: ignore[operator]
        self.discard()
        return len(self.done)

    def discard(self) -> None:
        if self.aside is not None:
            shutil.rmtree(self.aside, ignore_errors=True)


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded = {}
    for name, value in row.items():
        if name not in table.c:
            raise TransferError(f"colonne inconnue {table.name}.{name}")
        if value is not None and isinstance(table.c[name].type, UTCDateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(table.c[name].type, Date):
            value = date.fromisoformat(value)
        decoded[name] = value
    return decoded


def _self_references(table: Table) -> list[str]:
    return [
        fk.parent.name for fk in table.foreign_keys if fk.column.table is table and "id" in table.c
    ]


def import_data(engine: Engine, source: Path, uploads: Path | None = None) -> int:
    """Loads the rows (returns their number) and puts the files in `uploads`."""
    files = _IncomingFiles(uploads)
    try:
        count = _import(engine, source, files)
        files.put_in_place()
    finally:
        files.discard()
    return count


def import_files_count(source: Path) -> int:
    """How many files an export carries (for the command's report)."""
    with source.open(encoding="utf-8") as fh:
        return sum('"sha256"' in line and line.startswith('{"file"') for line in fh)


def _import(engine: Engine, source: Path, files: _IncomingFiles) -> int:
    tables = {t.name: t for t in _tables()}
    count = 0
    with source.open(encoding="utf-8") as fh, engine.begin() as conn:
        header = json.loads(fh.readline() or "{}")
        if header.get("format") != FORMAT:
            raise TransferError(f"{source} n'est pas un export de la Bourse ({FORMAT}).")
        if header.get("revision") != schema_revision(conn):
            raise TransferError(
                f"Le fichier vient du schéma {header.get('revision')}, la base est au schéma "
                f"{schema_revision(conn)} : migrez les deux au même niveau (bourse migrate)."
            )
        for table in tables.values():
            if conn.execute(select(func.count()).select_from(table)).scalar():
                raise TransferError(
                    f"La table {table.name} n'est pas vide : importez dans une base neuve."
                )
        pending: dict[str, list[dict[str, Any]]] = {}
        # A row may point to a later row of its own table (a need merged into a newer one):
        # such columns are inserted empty and filled in once every row is there.
        self_refs = {name: _self_references(table) for name, table in tables.items()}
        deferred: list[tuple[Table, str, Any, Any]] = []
        current: Table | None = None
        for number, line in enumerate(fh, start=2):
            try:
                record = json.loads(line)
                if isinstance(record, dict) and "file" in record:
                    files.take(record, number)
                    continue
                table = tables[record["table"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise TransferError(f"ligne {number} illisible : {exc}") from None
            if current is not None and current is not table and pending.get(current.name):
                # The file is in dependency order: a table's rest goes in before the next
                # table's first batch, whose rows may point to it.
                conn.execute(insert(current), pending.pop(current.name))
            current = table
            row = _decode(table, record["row"])
            for column in self_refs[table.name]:
                if row.get(column) is not None:
                    deferred.append((table, column, row["id"], row[column]))
                    row[column] = None
            pending.setdefault(table.name, []).append(row)
            if len(pending[table.name]) >= BATCH:
                conn.execute(insert(table), pending.pop(table.name))
            count += 1
        for table in tables.values():  # dependency order for what is left
            if pending.get(table.name):
                conn.execute(insert(table), pending.pop(table.name))
        for table, column, row_id, value in deferred:
            conn.execute(update(table).where(table.c.id == row_id).values({column: value}))
        files.check()  # before the rows are committed: a bad file leaves nothing behind
        if conn.dialect.name == "postgresql":
            # Explicit ids were inserted: move each sequence past the largest one.
            for table in tables.values():
                if "id" in table.c:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                        )
                    )
    return count
