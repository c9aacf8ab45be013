"""`bourse export-data` / `bourse import-data`: the whole database as JSON Lines.

One line per row, tables in dependency order, preceded by a header line naming the schema
revision. Values are JSON-native, timestamps are RFC 3339 strings in UTC. The same file loads
into SQLite or PostgreSQL, which is how an installation moves from one to the other.
Import requires a freshly migrated, empty database at the same revision (nothing is merged).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, Table, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.db import UTCDateTime

FORMAT = "bourse-export/1"
BATCH = 500


class TransferError(Exception):
    """A file that cannot be imported, with a message meant for the operator."""


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def _revision(conn: Connection) -> str | None:
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
        yield {"format": FORMAT, "revision": _revision(conn)}
        for table in _tables():
            order = list(table.primary_key.columns)
            for row in conn.execute(select(table).order_by(*order)).mappings():
                yield {"table": table.name, "row": {k: _encode(v) for k, v in row.items()}}


def export_data(engine: Engine, out: IO[str]) -> int:
    count = 0
    for record in export_rows(engine):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += "table" in record
    return count


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


def import_data(engine: Engine, source: Path) -> int:
    tables = {t.name: t for t in _tables()}
    count = 0
    with source.open(encoding="utf-8") as fh, engine.begin() as conn:
        header = json.loads(fh.readline() or "{}")
        if header.get("format") != FORMAT:
            raise TransferError(f"{source} n'est pas un export de la Bourse ({FORMAT}).")
        if header.get("revision") != _revision(conn):
            raise TransferError(
                f"Le fichier vient du schéma {header.get('revision')}, la base est au schéma "
                f"{_revision(conn)} : migrez les deux au même niveau (bourse migrate)."
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
                table = tables[record["table"]]
            except (ValueError, KeyError) as exc:
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
