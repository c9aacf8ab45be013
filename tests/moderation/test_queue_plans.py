"""The moderation dashboard's counts read the pending rows, not every need: with the statistics
of a board of 100,000 needs, SQLite's planner took the index of deletion dates (all NULL) for
« deleted_at IS NULL » and read every need on each visit (migration 0009)."""

from __future__ import annotations

from sqlmodel import Session

from app.moderation import queue
from tests.board.comment_helpers import count_statements

# sqlite_stat1 rows of bench/load.py's database (100,016 needs, 1,320 pending), as ANALYZE
# wrote them; what the planner weighs its choices by.
BOARD_STATISTICS = [
    ("ix_needs_pending", "1320 1 1"),
    ("ix_needs_deleted_at", "100016 100016"),
    ("ix_needs_status", "100016 20004"),
    ("ix_needs_created_at_id", "100016 1 1"),
    ("ix_needs_updated_at", "100016 1"),
]


def test_dashboard_counts_never_read_every_need(session: Session, db_engine_name: str) -> None:
    connection = session.connection()
    if db_engine_name == "sqlite":
        connection.exec_driver_sql("ANALYZE")  # makes sqlite_stat1
        connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'needs'")
        for index, stat in BOARD_STATISTICS:
            connection.exec_driver_sql(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('needs', ?, ?)", (index, stat)
            )
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # the planner reads them again
    with count_statements(session.get_bind()) as statements:
        queue.counts(session)
    counts_of_needs = [s for s in statements if "FROM needs" in s]
    assert counts_of_needs
    explain = "EXPLAIN QUERY PLAN " if db_engine_name == "sqlite" else "EXPLAIN "
    for statement in counts_of_needs:
        plan = " ".join(str(row) for row in connection.exec_driver_sql(explain + statement))
        assert "ix_needs_deleted_at" not in plan, plan
        if db_engine_name == "sqlite":  # PostgreSQL's plan of an empty test table says little
            assert "ix_needs_pending" in plan, plan
