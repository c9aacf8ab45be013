"""the fabrique's public answer on a need (issue 17)

Three columns on `needs` — the answer's Markdown, its sanitised HTML and when it was written
(who wrote it is in the audit log) — and partial indexes of the answered needs in each board
order, for the board's « a une réponse » filter (few needs are answered: without them the filter
would read the board's whole sort index, or sort every public need, to find a page of them).

On SQLite the columns are added and dropped by a plain ALTER TABLE (DROP COLUMN: SQLite 3.35 and
later), never by copying the table: the full-text triggers of 0002 and the content version's of
0007 stay in place. (No « answered by » foreign key for that reason: SQLite adds one only by
copying the table, and its DROP TABLE would cascade to the needs' supports and comments.)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERED = "answer_at IS NOT NULL"
# One partial index of the answered needs per board sort (SQLite scans an index in full only
# when it gives the order asked for).
INDEXES = {
    "ix_needs_answered": "created_at",
    "ix_needs_answered_supports": "supports_count",
    "ix_needs_answered_trending": "trending_score",
    "ix_needs_answered_comments": "comments_count",
}
COLUMNS = ("answer_body", "answer_html", "answer_at")
SQLITE_COLUMNS = (
    "answer_body TEXT DEFAULT '' NOT NULL",
    "answer_html TEXT DEFAULT '' NOT NULL",
    "answer_at DATETIME",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for definition in SQLITE_COLUMNS:
            op.execute(f"ALTER TABLE needs ADD COLUMN {definition}")
    else:
        op.add_column(
            "needs", sa.Column("answer_body", sa.Text(), nullable=False, server_default="")
        )
        op.add_column(
            "needs", sa.Column("answer_html", sa.Text(), nullable=False, server_default="")
        )
        op.add_column(
            "needs",
            sa.Column("answer_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        )
    for name, column in INDEXES.items():
        op.create_index(
            name,
            "needs",
            [column, "id"],
            sqlite_where=sa.text(ANSWERED),
            postgresql_where=sa.text(ANSWERED),
        )


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="needs")
    if op.get_bind().dialect.name == "sqlite":
        for column in reversed(COLUMNS):
            op.execute(f"ALTER TABLE needs DROP COLUMN {column}")
    else:
        for column in reversed(COLUMNS):
            op.drop_column("needs", column)
