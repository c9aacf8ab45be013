"""the index of deleted needs holds the deleted ones only (issue 13)

`ix_needs_deleted_at` serves one query: the feeds' Last-Modified, MAX(deleted_at). Over every
need it held 100,000 NULLs at 100,000 needs, and SQLite's planner took it for the condition
« deleted_at IS NULL » of the moderation dashboard's count of pending needs: it read every need
(36 ms of CPU a visit, the dashboard at 20 requests per second under load) instead of the
pending ones. Partial, on deleted needs only, it still answers the MAX (whose query now says
« deleted_at IS NOT NULL », app/syndication/feeds.py) and no planner can take it for the rest.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELETED = "deleted_at IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_needs_deleted_at", table_name="needs")
    op.create_index(
        "ix_needs_deleted_at",
        "needs",
        ["deleted_at"],
        sqlite_where=sa.text(DELETED),
        postgresql_where=sa.text(DELETED),
    )


def downgrade() -> None:
    op.drop_index("ix_needs_deleted_at", table_name="needs")
    op.create_index("ix_needs_deleted_at", "needs", ["deleted_at"])
