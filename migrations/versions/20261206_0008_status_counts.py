"""partial indexes of what waits for moderation: pending needs and comments (issue 13)

The moderation dashboard counts pending comments and pending needs on every visit, and the
queue lists them. Comments had no index on their status: each count read the whole table
(97 ms at 350,000 comments on SQLite, and most of PostgreSQL's CPU under load). These indexes
hold the pending, undeleted rows only (a few, whatever the size of the board), by date.

Partial, not on (status, deleted_at): SQLite's planner, without statistics, took such an index
for the board's own filter (status IN published, covered) and sorted every public need instead
of walking the date index (200 ms per page at 100,000 needs). The queries that use them write
the condition out (app/moderation/queue.py): a planner cannot match a bound value to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending' AND deleted_at IS NULL"


def upgrade() -> None:
    for table in ("needs", "comments"):
        op.create_index(
            f"ix_{table}_pending",
            table,
            ["created_at", "id"],
            sqlite_where=sa.text(PENDING),
            postgresql_where=sa.text(PENDING),
        )


def downgrade() -> None:
    for table in ("needs", "comments"):
        op.drop_index(f"ix_{table}_pending", table_name=table)
