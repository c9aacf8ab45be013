"""audit log: one row per moderator, staff or admin action (never updated)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 06:14:19.144994
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_entries_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_action", ["action"], unique=False)
        batch_op.create_index(
            "ix_audit_entries_actor_id_created_at", ["actor_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_audit_entries_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_entries_target_kind_target_id", ["target_kind", "target_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_target_kind_target_id")
        batch_op.drop_index("ix_audit_entries_created_at_id")
        batch_op.drop_index("ix_audit_entries_actor_id_created_at")
        batch_op.drop_index("ix_audit_entries_action")

    op.drop_table("audit_entries")
