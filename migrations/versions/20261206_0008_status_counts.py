"""the moderation counts read an index: comments and needs by status and deletion (issue 13)

The moderation dashboard counts pending comments and pending needs on every visit. Comments had
no index on their status: each count read the whole table (97 ms at 350,000 comments on
SQLite, and most of PostgreSQL's CPU under load). Needs had one on status alone, so each
pending need was looked up again for its deletion date. Both counts now read one covering
index; the needs' index on status alone is its prefix and goes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_comments_status_deleted_at", "comments", ["status", "deleted_at"])
    op.create_index("ix_needs_status_deleted_at", "needs", ["status", "deleted_at"])
    op.drop_index("ix_needs_status", table_name="needs")


def downgrade() -> None:
    op.create_index("ix_needs_status", "needs", ["status"])
    op.drop_index("ix_needs_status_deleted_at", table_name="needs")
    op.drop_index("ix_comments_status_deleted_at", table_name="comments")
