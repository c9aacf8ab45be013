"""Database engine, naming convention and the request session dependency.

SQLite is the embedded default: each connection gets WAL, foreign keys and a busy timeout, so
the web server, the worker and the CLI can share one file. PostgreSQL is used as is, with a pool.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from app.core.settings import Settings

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
            raise ValueError("naive datetimes are not stored; use app.core.db.utcnow()")
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


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_TURN_POLL_SECONDS = 0.0005
# Execution option: `False` makes a write raise TurnTaken instead of waiting for its turn.
NO_WAIT = {"wait_for_turn": False}


class TurnTaken(Exception):
    """Another writer has the turn, and the connection was asked not to wait for it
    (`execution_options(**NO_WAIT)`): nothing was written by the statement that raised."""


def _still_locked() -> Exception:
    """What SQLite raises once its busy timeout has run out. The wait for the turn was that
    timeout: going on into SQLite's busy handler would wait as long again behind the same
    writer (a request then answered 503 after twice the busy timeout, tests/reliability)."""
    import sqlite3

    return sqlite3.OperationalError("database is locked")


class WriterTurns:
    """On a SQLite file, writers take turns on a lock of their own, shared by every process
    that opens the file, instead of sleeping in SQLite's busy handler.

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    sleeps and retries (1, 2, 5, 10 … 100 ms): with several writers at once, a waiter sleeps
    long after the lock is free, and « Moi aussi » under load ran with a third of the CPU idle.
    Here the threads of a process queue on a Python lock (woken as soon as the previous turn
    ends), and the process holding it takes an exclusive `flock` on a file beside the database
    (`<file>-writer.lock`), polled every half millisecond, so that the workers, the CLI and
    `bourse worker` take turns too. A first attempt with the Python lock alone made things
    worse: the turn's holder slept in the busy handler while another process wrote, and every
    writer of its process waited behind it (bench/README.md).

    A caller that must not block (a write on the event loop itself, app/syndication/
    support_path.py) asks with `execution_options(**NO_WAIT)`: when the turn is not free at
    once, its first write raises TurnTaken, with nothing written, and it tries again
    (app/web/fast_writes.py).

    The turn starts where Python's sqlite3 opens the write transaction (before the first
    INSERT, UPDATE, DELETE or REPLACE; reads before it run outside any transaction) and ends
    after the commit or rollback, or when the connection is closed or dropped. A writer that
    waits longer than the busy timeout fails as SQLite would (« database is locked »).

    The turn belongs to a connection, never to a thread. A thread of the pool that ran a
    request's write goes on to the next request while the first one's session is closed later,
    on another thread: when a thread holding a turn was let write on another connection without
    one, that write waited in SQLite's busy handler, then wrote without the turn, and the next
    writer to take the turn waited behind it in SQLite while it waited for the turn: both
    failed after the busy timeout, a 503 to each (tests/reliability/test_floods.py, about one
    SQLite run in three; tests/test_db.py).
    """

    def __init__(self, lock_path: str) -> None:
        self.lock_path = lock_path
        self._lock = threading.Lock()
        self._fd: int | None = None

    def install(self, engine: Engine) -> None:
        engine.writer_turns = self  # type: ignore[attr-defined]  (for tests and diagnostics)
        event.listen(engine, "before_cursor_execute", self._before_execute)
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self._end(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self._end(dbapi_connection)

        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]
        for name in ("close", "invalidate", "checkin"):
            event.listen(engine, name, self._on_pool_event)

    def _file_lock(self, deadline: float) -> bool:
        import fcntl

        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(_TURN_POLL_SECONDS)

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        info = conn.connection.info
        if info.get("writer_turn") or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        if not conn.get_execution_options().get("wait_for_turn", True):
            self._try(info)
            return
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise _still_locked()
        try:
            locked = self._file_lock(deadline)
        except OSError:  # a read-only directory, say: SQLite decides alone
            self._lock.release()
            return
        if not locked:
            self._lock.release()
            raise _still_locked()
        info["writer_turn"] = True

    def _try(self, info: dict[str, Any]) -> None:
        import fcntl

        if not self._lock.acquire(blocking=False):
            raise TurnTaken()
        try:
            if self._fd is None:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process writes
            self._lock.release()
            raise TurnTaken() from None
        info["writer_turn"] = True

    def _release(self) -> None:
        import fcntl

        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _end(self, dbapi_connection: Any) -> None:
        try:
            info = dbapi_connection.info
        except (AttributeError, NotImplementedError):  # the dialect's first connect: no pool
            return
        if info.pop("writer_turn", False):
            self._release()

    def _on_pool_event(self, _dbapi_connection: Any, record: Any, *_: Any) -> None:
        # A connection closed or dropped in the middle of a transaction ends its turn too.
        if record is not None and record.info.pop("writer_turn", False):
            self._release()


def make_engine(url: str, **kwargs: Any) -> Engine:
    # A failed statement's error names the statement, never its values (e-mail addresses,
    # token hashes): the error reaches the log (app/core/logs.py).
    kwargs.setdefault("hide_parameters", True)
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
        if url.startswith("sqlite:///") and ":memory:" not in url and os.name == "posix":
            WriterTurns(url.removeprefix("sqlite:///") + "-writer.lock").install(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _nul_free(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        if any(isinstance(v, str) and "\x00" in v for v in parameters.values()):
            return {
                k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in parameters.items()
            }
        return parameters
    if isinstance(parameters, list | tuple):
        return type(parameters)(_nul_free(p) for p in parameters)
    return parameters


def _without_nul(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    """PostgreSQL refuses a NUL character in text, where SQLite keeps it: a value typed or
    sent with one (a slug, a search, a form key from a hostile client) would end its request
    in a 500. Text the app stores is cleaned of control characters before (app.core.text);
    what is left are lookups, which the NUL cannot match anyway: it is dropped from every
    text parameter, so both engines answer alike (found by the form fuzzing, issue 18)."""
    return statement, _nul_free(parameters)


# A pooled PostgreSQL connection unused for longer than this is tested (SELECT 1) before a
# request gets it. SQLAlchemy's pool_pre_ping tests every checkout: one more round trip per
# request, about a tenth of a signed-in page's time on PostgreSQL (bench/README.md, issue 13).
# A connection used a moment ago is alive or the server has just gone: then the request's first
# statement fails, SQLAlchemy invalidates the whole pool, the request gets the 503 page, and
# the next ones connect afresh (tests/test_db.py).
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _note(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and hands out another (up to three tries).
            raise DisconnectionError() from exc


def engine_for(settings: Settings) -> Engine:
    # A request holds at most two connections (its session, and a short one for an error
    # page or a partner arrival), and a worker admits `concurrency` requests at once
    # (app/web/admission.py): the pool can then never run dry under load.
    spare = settings.concurrency + 2
    return make_engine(settings.sqlalchemy_url, pool_size=spare, max_overflow=spare)


# « Moi aussi » on PostgreSQL commits without waiting for the disk (synchronous_commit=off), as
# every SQLite commit of this product already does (WAL with synchronous=NORMAL): a crash of
# the app loses nothing, a crash of the database server or of the machine may lose the last
# fraction of a second of supports given or withdrawn — never a need, a comment or an account,
# which keep PostgreSQL's default. The toggle is the busiest write, one click that can be
# given again, and waiting for the disk was a third of its time (bench/README.md, issue 13).
QUICK_WRITES_OPTIONS = "-c synchronous_commit=off"


def quick_writes_engine_for(settings: Settings, engine: Engine) -> Engine:
    """The engine of « Moi aussi » answered before routing: on PostgreSQL its own small pool
    whose sessions commit asynchronously (see QUICK_WRITES_OPTIONS); on SQLite `engine` itself
    (one writer at a time, and its writer turns, whatever the way in)."""
    if engine.dialect.name != "postgresql":
        return engine
    spare = settings.concurrency + 2
    # The installation's own options in its URL (a search_path…) are kept beside ours.
    given = make_url(settings.sqlalchemy_url).query.get("options")
    given = [given] if isinstance(given, str) else list(given or ())
    options = " ".join([*given, QUICK_WRITES_OPTIONS])
    return make_engine(
        settings.sqlalchemy_url,
        pool_size=spare,
        max_overflow=spare,
        connect_args={"options": options},
    )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for CLI commands and the worker; services commit themselves."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


_SERIALISE = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


def serialise_on(session: Session, key: str) -> None:
    """Until the caller's transaction ends, no other transaction gets past this point with the
    same `key`: a check-then-write on a key (is this address registered? how many uses of it?)
    cannot be passed by two requests at once. PostgreSQL: a transaction-scoped advisory lock
    (the other waits for this transaction's end, then sees what it wrote). SQLite writes one
    transaction at a time (WriterTurns): the caller holds the turn once it has written, so it
    must write before it counts, or be ready for the conflict a unique index gives."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_SERIALISE, {"key": key})
