"""moderation: revisions, tags, site settings, provenance, qualification

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:00:52.553042
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# (table, column, type, nullable, server default, foreign key target)
ADDED: list[tuple[str, str, sa.types.TypeEngine, bool, str | None, str | None]] = [
    ("comments", "moderation_reason", sa.Text(), False, "", None),
    ("comments", "moved_from_need_id", sa.Integer(), True, None, "needs"),
    ("needs", "moderation_reason", sa.Text(), False, "", None),
    ("needs", "covered_name", sa.String(length=120), True, None, None),
    ("needs", "covered_url", sa.String(length=500), True, None, None),
    ("needs", "covered_note", sa.Text(), True, None, None),
    ("needs", "source", sa.String(length=20), False, "online", None),
    ("needs", "source_event", sa.String(length=120), True, None, None),
    ("needs", "source_date", sa.Date(), True, None, None),
    ("needs", "source_partner", sa.String(length=120), True, None, None),
    ("needs", "recorded_by_id", sa.Integer(), True, None, "users"),
    ("needs", "qualified_at", app.core.db.UTCDateTime(timezone=True), True, None, None),
    ("needs", "qualified_by_id", sa.Integer(), True, None, "users"),
    ("needs", "internal_note", sa.Text(), False, "", None),
    ("users", "trusted_at", app.core.db.UTCDateTime(timezone=True), True, None, None),
]


def _column(table, column, type_, nullable, default, target) -> sa.Column:  # type: ignore[no-untyped-def]
    fk = (
        [sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete="SET NULL")]
        if target
        else []
    )
    return sa.Column(column, type_, *fk, nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("slug", name=op.f("uq_tags_slug")),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=True),
        sa.Column("editor_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["editor_id"],
            ["users.id"],
            name=op.f("fk_revisions_editor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
    )
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_revisions_target_kind_target_id_id",
            ["target_kind", "target_id", "id"],
            unique=False,
        )

    op.create_table(
        "site_settings",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_site_settings_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_site_settings")),
    )
    op.create_table(
        "need_tags",
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_need_tags_need_id_needs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_need_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("need_id", "tag_id", name=op.f("pk_need_tags")),
    )
    with op.batch_alter_table("need_tags", schema=None) as batch_op:
        batch_op.create_index("ix_need_tags_tag_id", ["tag_id"], unique=False)

    if op.get_bind().dialect.name != "sqlite":
        for table, column, *rest in ADDED:
            # The inline ForeignKey becomes ADD COLUMN … REFERENCES, constraint name included.
            op.add_column(table, _column(table, column, *rest))
        return
    # SQLite adds a foreign key only by copying the table (batch mode); the copy of `needs`
    # loses the full-text triggers of 0002, which are put back right after.
    for name in ("comments", "needs", "users"):
        with op.batch_alter_table(name) as batch_op:
            for table, column, *rest in ADDED:
                if table == name:
                    batch_op.add_column(_column(table, column, *rest))
    for statement in _sqlite_search_triggers():
        op.execute(statement)


def _sqlite_search_triggers() -> list[str]:
    # The trigger DDL lives in 0002; load it rather than copy it.
    path = Path(__file__).with_name("20261126_0002_board.py")
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return [s for s in module.SQLITE_SEARCH if s.startswith("CREATE TRIGGER")]


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table, column, *_ in reversed(ADDED):
            op.drop_column(table, column)
    else:
        # SQLite cannot drop a column that has a foreign key: copy the tables (batch), then
        # put back the full-text triggers the copy of `needs` lost.
        for table in ("users", "needs", "comments"):
            with op.batch_alter_table(table) as batch_op:
                for name, column, *_ in reversed(ADDED):
                    if name == table:
                        batch_op.drop_column(column)
        for statement in _sqlite_search_triggers():
            op.execute(statement)
    op.drop_index("ix_need_tags_tag_id", table_name="need_tags")
    op.drop_table("need_tags")
    op.drop_table("site_settings")
    op.drop_index("ix_revisions_target_kind_target_id_id", table_name="revisions")
    op.drop_table("revisions")
    op.drop_table("tags")
