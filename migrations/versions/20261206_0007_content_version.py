"""content version: one row bumped by every write that changes something public (issue 12)

The anonymous response cache (app/web/cache.py) serves a stored page only while this version is
the one it was rendered at. Triggers bump it, so every write path counts — the ORM, Core
statements, raw SQL, another instance — in the same transaction as the write: the new version
becomes visible exactly when the new rows do.

- PostgreSQL: deferred constraint triggers, run at commit time, bump once per transaction (a
  transaction-local setting remembers it). Taking the version row's lock last, after every
  other row the transaction locked, keeps the lock order the same for every writer: no
  deadlock, and writers wait on one another only for the instant of their commit.
- SQLite: a row trigger per statement kind; SQLite has one writer at a time anyway.

Which tables are public is decided in app/web/content_version.py (PUBLIC_TABLES); a test fails
when a table is in neither list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept here as they were at this revision (a later change of the app's list gets its own
# migration): table → columns whose UPDATE counts (None: any column).
PUBLIC_TABLES: dict[str, tuple[str, ...] | None] = {
    "needs": None,
    "supports": None,
    "comments": None,
    "ideas": None,
    "idea_needs": None,
    "idea_partners": None,
    "idea_milestones": None,
    "idea_stage_changes": None,
    "partners": None,
    "themes": None,
    "territories": None,
    "tags": None,
    "need_tags": None,
    "site_settings": None,
    "revisions": None,
    # A login writes last_login_at: only what pages show counts.
    "users": ("display_name", "role", "blocked_at", "blocked_until", "trusted_at"),
}

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_content_version() RETURNS trigger AS $$
BEGIN
    IF current_setting('bourse.content_bumped', true) = txid_current()::text THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('bourse.content_bumped', txid_current()::text, true);
    UPDATE content_version
       SET version = version + 1, changed_at = floor(extract(epoch FROM clock_timestamp()))
     WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

SQLITE_BUMP = (
    "UPDATE content_version SET version = version + 1, "
    "changed_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = 1;"
)


def _trigger_names(table: str) -> list[str]:
    return [f"cv_{table}_{kind}" for kind in ("ins", "upd", "del")]


def upgrade() -> None:
    op.create_table(
        "content_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("changed_at", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
        sa.CheckConstraint("id = 1", name=op.f("ck_content_version_single_row")),
    )
    op.execute("INSERT INTO content_version (id, version, changed_at) VALUES (1, 1, 0)")
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for table, columns in PUBLIC_TABLES.items():
        ins, upd, dele = _trigger_names(table)
        of = f" OF {', '.join(columns)}" if columns else ""
        if dialect == "postgresql":
            for name, event in ((ins, "INSERT"), (upd, f"UPDATE{of}"), (dele, "DELETE")):
                op.execute(
                    f"CREATE CONSTRAINT TRIGGER {name} AFTER {event} ON {table} "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                    "EXECUTE FUNCTION bump_content_version()"
                )
        else:
            for name, event in ((ins, "INSERT"), (upd, f"UPDATE{of}"), (dele, "DELETE")):
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {SQLITE_BUMP} END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in PUBLIC_TABLES:
        for name in _trigger_names(table):
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS bump_content_version()")
    op.drop_table("content_version")
