"""SQLite writers take turns (app.core.db.WriterTurns): a turn starts at the first write of a
transaction and ends after its commit or rollback, whatever ends it, and it excludes the
writers of other processes on the same file too."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.core import db
from app.core.db import WriterTurns, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    return engine


def turns_of(engine: Engine) -> WriterTurns:
    turns = engine.writer_turns  # type: ignore[attr-defined]
    assert isinstance(turns, WriterTurns)
    return turns


def test_a_turn_runs_from_the_first_write_to_the_commit(engine: Engine) -> None:
    turns = turns_of(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT n FROM counter"))
        assert not turns._lock.locked()  # reading takes no turn
        conn.execute(text("UPDATE counter SET n = n + 1"))
        assert turns._lock.locked()
        conn.commit()
        assert not turns._lock.locked()
        conn.execute(text("  update counter SET n = n + 1"))
        assert turns._lock.locked()
        conn.rollback()
        assert not turns._lock.locked()
        conn.execute(text("DELETE FROM counter WHERE id = 2"))
    # Closed without commit: the pool's reset rolled back, and ended the turn.
    assert not turns._lock.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1


def test_a_failed_write_ends_its_turn_with_the_rollback(engine: Engine) -> None:
    turns = turns_of(engine)
    with pytest.raises(Exception, match="no such table"), engine.begin() as conn:
        conn.execute(text("UPDATE counter SET n = n + 1"))
        conn.execute(text("INSERT INTO missing VALUES (1)"))
    assert not turns._lock.locked()


def test_a_second_writer_waits_for_the_first_to_commit_then_writes(engine: Engine) -> None:
    first = engine.connect()
    first.execute(text("UPDATE counter SET n = n + 1"))
    started, done = threading.Event(), threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            started.set()
            conn.execute(text("UPDATE counter SET n = n * 10"))
        done.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert started.wait(timeout=10)
    assert not done.is_set()  # it cannot write before the first commits
    first.commit()
    first.close()
    worker.join(timeout=10)
    assert done.is_set()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 10  # (0 + 1) × 10


def test_the_turn_is_a_connections_not_a_threads(engine: Engine) -> None:
    """A pooled thread that wrote for one request (whose session another thread closes later)
    and writes for the next one on another connection waits for the turn like anyone: it used
    to go on without it, into SQLite's busy handler, and two writers then each waited for the
    other until the busy timeout (two 503s). Asked not to wait, it is told at once."""
    first = engine.connect()
    first.execute(text("UPDATE counter SET n = n + 1"))  # this thread holds the turn
    try:
        started = time.monotonic()
        with pytest.raises(db.TurnTaken), engine.connect() as second:
            second.execution_options(**db.NO_WAIT).execute(text("UPDATE counter SET n = 7"))
        assert time.monotonic() - started < 1  # not SQLite's busy timeout (5 s)
        first.commit()
    finally:
        first.close()
    # The second connection wrote nothing, and the turn is free again.
    assert not turns_of(engine)._lock.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1


OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from app.core.db import make_engine

    engine = make_engine(sys.argv[1])
    with engine.connect() as conn:
        conn.execute(text("UPDATE counter SET n = n + 1"))
        print("writing", flush=True)
        sys.stdin.readline()  # holds its turn until told to commit
        conn.commit()
    print("committed", flush=True)
    """
)


@contextmanager
def other_process_writing(engine: Engine) -> Iterator[Callable[[], None]]:
    """OTHER_PROCESS, holding its turn on `engine`'s file; yields what makes it commit."""
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(engine.url)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None and other.stdin is not None

    def commit() -> None:
        assert other.stdin is not None and other.stdout is not None
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "committed"

    try:
        assert other.stdout.readline().strip() == "writing"
        yield commit
    finally:
        other.kill()
        other.wait()


def test_another_process_holding_the_turn_makes_writers_wait_for_its_commit(
    engine: Engine,
) -> None:
    """The workers of `bourse serve` are processes: the turn is a lock on a file beside the
    database, held from the first write to the commit, whatever process writes."""
    turns = turns_of(engine)
    assert Path(turns.lock_path).name == "turns.sqlite3-writer.lock"
    with other_process_writing(engine) as commit_other:
        done, waiting = threading.Event(), threading.Event()
        file_lock = turns._file_lock

        def noted_file_lock(deadline: float) -> bool:
            waiting.set()
            return file_lock(deadline)

        turns._file_lock = noted_file_lock  # type: ignore[method-assign]

        def write() -> None:
            with engine.begin() as conn:
                conn.execute(text("UPDATE counter SET n = n * 10"))
            done.set()

        worker = threading.Thread(target=write)
        worker.start()
        # Our writer waits on the file lock (not in SQLite): the other process has the turn.
        assert waiting.wait(timeout=10)
        assert not done.wait(timeout=0.2)
        commit_other()
        worker.join(timeout=10)
        assert done.is_set()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 10  # (0 + 1) × 10


def _write_after_the_busy_timeout(engine: Engine) -> tuple[str, float]:
    """A write that cannot have the turn: what it raised, and after how long."""
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised, engine.begin() as conn:
        conn.execute(text("UPDATE counter SET n = n * 10"))
    return str(raised.value.orig), time.monotonic() - started


def test_a_writer_still_without_its_turn_after_the_busy_timeout_fails_at_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn is the wait: a writer that waited the busy timeout for it fails as SQLite
    would (« database is locked », a 503 for a request), instead of waiting as long again in
    SQLite's busy handler (whose timeout, set when the connection opened, is 5 s here)."""
    with engine.connect(), engine.connect():
        pass  # two pooled connections, whose busy timeout is 5 s
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)  # for the turn only, from here
    first = engine.connect()
    first.execute(text("UPDATE counter SET n = n + 1"))  # holds the turn and SQLite's lock
    try:
        outcome: list[tuple[str, float]] = []
        worker = threading.Thread(
            target=lambda: outcome.append(_write_after_the_busy_timeout(engine))
        )
        worker.start()
        worker.join(timeout=30)
        [(message, seconds)] = outcome
        assert message == "database is locked"
        assert seconds < 3
    finally:
        first.rollback()
        first.close()


def test_a_writer_of_another_process_holding_the_turn_past_the_busy_timeout_fails_it_at_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)  # the pooled connection keeps 5 s
    with other_process_writing(engine):
        message, seconds = _write_after_the_busy_timeout(engine)
    assert message == "database is locked"
    assert seconds < 3
