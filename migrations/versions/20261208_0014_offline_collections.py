"""offline collections (issue 17): people who raised a need offline, recorded by staff

`offline_collections`: per need, how many people (1 to 10,000), how they were met (réunion
publique, permanence, enquête, atelier, autre), when, and optionally where (a place, a
territory) with a short note. Their sum shows publicly as « recueilli hors ligne » next to the
need's demand, so the table is public (app/web/content_version.py): its writes bump the content
version, with the triggers of 0007 (and 0010) made here for it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Added to migration 0007's PUBLIC_TABLES, as at this revision (table → columns whose UPDATE
# counts, None: any); tests/web/test_anonymous_cache.py checks the app's list against them.
PUBLIC_TABLES_ADDED: dict[str, tuple[str, ...] | None] = {"offline_collections": None}

# Migration 0007's bump, as it was then.
SQLITE_BUMP = (
    "UPDATE content_version SET version = version + 1, "
    "changed_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = 1;"
)
TABLE = "offline_collections"
NAMES = [
    (f"cv_{TABLE}_ins", "INSERT"),
    (f"cv_{TABLE}_upd", "UPDATE"),
    (f"cv_{TABLE}_del", "DELETE"),
]
METHODS = "'public_meeting', 'drop_in', 'survey', 'workshop', 'other'"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "people BETWEEN 1 AND 10000", name=op.f("ck_offline_collections_people")
        ),
        sa.CheckConstraint(f"method IN ({METHODS})", name=op.f("ck_offline_collections_method")),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["needs.id"],
            name=op.f("fk_offline_collections_need_id_needs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_offline_collections_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_offline_collections_territory_id_territories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_collections")),
    )
    op.create_index(
        "ix_offline_collections_need_id_collected_on", TABLE, ["need_id", "collected_on"]
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, event in NAMES:
        if postgresql:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER {event} ON {TABLE} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION bump_content_version()"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {TABLE} BEGIN {SQLITE_BUMP} END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, _event in NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {TABLE}" if postgresql else ""))
    op.drop_index("ix_offline_collections_need_id_collected_on", table_name=TABLE)
    op.drop_table(TABLE)
