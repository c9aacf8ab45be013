"""board: needs, supports, comments, follows, reports, notifications, rate events, search

Full-text search objects are engine-specific and live outside the models (the drift test
ignores them, see app.board.search.SEARCH_OBJECTS):
- SQLite: an FTS5 table over needs(title, body) with diacritics removed, kept in sync by
  triggers. A later batch migration that rebuilds `needs` on SQLite must recreate them.
- PostgreSQL: a French text search configuration that also removes accents (unaccent), and a
  generated tsvector column with a GIN index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:53:58.411106
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    with op.batch_alter_table("rate_events", schema=None) as batch_op:
        batch_op.create_index("ix_rate_events_key_created_at", ["key", "created_at"], unique=False)

    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("excerpt", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=True),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("supports_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("comments_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("trending_score", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'published', 'hidden', 'rejected', 'covered', 'merged')",
            name=op.f("ck_needs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_needs_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["needs.id"],
            name=op.f("fk_needs_merged_into_id_needs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_needs_territory_id_territories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["themes.id"], name=op.f("fk_needs_theme_id_themes"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_needs_submission_key")),
    )
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_needs_author_id_created_at", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_needs_comments_count_id", ["comments_count", "id"], unique=False)
        batch_op.create_index("ix_needs_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_needs_status", ["status"], unique=False)
        batch_op.create_index("ix_needs_supports_count_id", ["supports_count", "id"], unique=False)
        batch_op.create_index("ix_needs_trending_score_id", ["trending_score", "id"], unique=False)
        batch_op.create_index(
            "ix_needs_territory_id_created_at",
            ["territory_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_needs_theme_id_created_at",
            ["theme_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("email_mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint("user_id", "kind", name="uq_notification_preferences_user_id_kind"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_reports_reporter_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_status_created_at", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_reports_target_kind_target_id", ["target_kind", "target_id"], unique=False
        )
        batch_op.create_index(
            "uq_reports_open_per_reporter",
            ["reporter_id", "target_kind", "target_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_comments_need_id_needs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comments.id"],
            name=op.f("fk_comments_parent_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_comments_submission_key")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_author_id", ["author_id"], unique=False)
        batch_op.create_index(
            "ix_comments_need_id_created_at", ["need_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_comments_parent_id", ["parent_id"], unique=False)

    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_follows_need_id_needs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("need_id", "user_id", name="uq_follows_need_id_user_id"),
    )
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.create_index("ix_follows_user_id", ["user_id"], unique=False)

    op.create_table(
        "supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("concern", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_supports_need_id_needs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_supports_territory_id_territories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_supports_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supports")),
        sa.UniqueConstraint("need_id", "user_id", name="uq_supports_need_id_user_id"),
    )
    with op.batch_alter_table("supports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supports_need_id_created_at", ["need_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_supports_user_id", ["user_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_notifications_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_notifications_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["needs.id"],
            name=op.f("fk_notifications_need_id_needs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_user_id_read_at_id", ["user_id", "read_at", "id"], unique=False
        )

    create_search()


def downgrade() -> None:
    drop_search()
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_read_at_id")

    op.drop_table("notifications")
    with op.batch_alter_table("supports", schema=None) as batch_op:
        batch_op.drop_index("ix_supports_user_id")
        batch_op.drop_index("ix_supports_need_id_created_at")

    op.drop_table("supports")
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.drop_index("ix_follows_user_id")

    op.drop_table("follows")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_parent_id")
        batch_op.drop_index("ix_comments_need_id_created_at")
        batch_op.drop_index("ix_comments_author_id")

    op.drop_table("comments")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_reports_open_per_reporter",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_reports_target_kind_target_id")
        batch_op.drop_index("ix_reports_status_created_at")

    op.drop_table("reports")
    op.drop_table("notification_preferences")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index("ix_needs_theme_id_created_at")
        batch_op.drop_index("ix_needs_territory_id_created_at")
        batch_op.drop_index("ix_needs_trending_score_id")
        batch_op.drop_index("ix_needs_supports_count_id")
        batch_op.drop_index("ix_needs_created_at_id")
        batch_op.drop_index("ix_needs_status")
        batch_op.drop_index("ix_needs_comments_count_id")
        batch_op.drop_index("ix_needs_author_id_created_at")

    op.drop_table("needs")
    with op.batch_alter_table("rate_events", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_events_key_created_at")

    op.drop_table("rate_events")


SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE needs_fts USING fts5(title, body, content='needs', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    # Only title and body changes touch the index: count updates stay cheap.
    "CREATE TRIGGER needs_fts_ai AFTER INSERT ON needs BEGIN "
    "INSERT INTO needs_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER needs_fts_ad AFTER DELETE ON needs BEGIN "
    "INSERT INTO needs_fts(needs_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER needs_fts_au AFTER UPDATE OF title, body ON needs BEGIN "
    "INSERT INTO needs_fts(needs_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO needs_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'fr_unaccent') THEN
            CREATE TEXT SEARCH CONFIGURATION public.fr_unaccent (COPY = pg_catalog.french);
            ALTER TEXT SEARCH CONFIGURATION public.fr_unaccent
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END $$""",
    "ALTER TABLE needs ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('public.fr_unaccent'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('public.fr_unaccent'::regconfig, coalesce(body, '')), 'B')) STORED",
    "CREATE INDEX ix_needs_search_vector ON needs USING gin (search_vector)",
]


def create_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("needs_fts_ai", "needs_fts_ad", "needs_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS needs_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_needs_search_vector")
        op.execute("ALTER TABLE needs DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS public.fr_unaccent")
