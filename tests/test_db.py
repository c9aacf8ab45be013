"""SQLite writers of one process take turns in Python (app.db.WriterTurns): a turn starts at
the first write of a transaction and ends after its commit or rollback, whatever ends it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.db import WriterTurns, make_engine


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
    done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n * 10"))
        done.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not done.is_set()  # it cannot write before the first commits
    first.commit()
    first.close()
    worker.join(timeout=10)
    assert done.is_set()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 10  # (0 + 1) × 10
