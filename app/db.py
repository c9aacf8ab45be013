"""Database engine, naming convention and the request session dependency.

SQLite is the embedded default: each connection gets WAL, foreign keys and a busy timeout, so
the web server, the worker and the CLI can share one file. PostgreSQL is used as is, with a pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from app.settings import Settings

# A fixed naming convention makes constraint names identical on SQLite and PostgreSQL, which is
# what lets Alembic batch migrations and autogenerate compare them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

SQLITE_BUSY_TIMEOUT_MS = 5000


def utcnow() -> datetime:
    """Aware UTC now. Columns store aware datetimes; SQLite gives naive ones back (see as_utc)."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite drops the offset on the way back: every stored datetime is UTC, so restore it."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC in Python, whatever the engine stores.

    PostgreSQL keeps `timestamptz`; SQLite keeps text without an offset, so values are
    normalised to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value).astimezone(UTC) if value is not None else None


# Column builders shared by the model modules (a Column can serve one table only: each call
# makes a new one).


def ts_column(nullable: bool = True, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable, index=index)


def fk_column(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Column:  # type: ignore[type-arg]
    return Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def engine_for(settings: Settings) -> Engine:
    # A request holds at most two connections (its session, and a short one for an error
    # page or a partner arrival), and a worker admits `concurrency` requests at once
    # (app/web/admission.py): the pool can then never run dry under load.
    spare = settings.concurrency + 2
    return make_engine(settings.sqlalchemy_url, pool_size=spare, max_overflow=spare)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for CLI commands and the worker; services commit themselves."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
