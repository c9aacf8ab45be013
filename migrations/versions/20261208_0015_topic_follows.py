"""topic follows (issue 17): following a theme, a territory or an idea

`topic_follows`: one row per account, kind (theme, territory, idea) and target, deleted with
the account. Private (app/web/content_version.py): who follows what is shown to the follower
only, so no content-version trigger.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "topic_follows"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('theme', 'territory', 'idea')", name=op.f("ck_topic_follows_kind")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_topic_follows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_follows")),
        sa.UniqueConstraint(
            "user_id", "kind", "target_id", name="uq_topic_follows_user_kind_target"
        ),
    )
    op.create_index("ix_topic_follows_kind_target_id", TABLE, ["kind", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_topic_follows_kind_target_id", table_name=TABLE)
    op.drop_table(TABLE)
