"""carriers and entrepreneurs (issue 17): the register of would-be carriers, the fabrique's
invitations to carry an idea, the projects people bring (the incubator route), and the ideas'
origin « carrier »

- `carrier_profiles`: one per account (skills, checked domains, territory, availability, a
  presentation), seen by staff only;
- `carrier_invitations`: staff « Proposer cette idée » to a registered person, one per person
  and idea;
- `carrier_proposals`: « Je porte déjà un projet », reviewed by staff, linked to the idea it
  became;
- `ideas.origin` accepts « carrier ».

Widening the origin CHECK: on PostgreSQL the constraint is dropped and created again. On SQLite
a CHECK cannot be altered, and rebuilding `ideas` by a batch copy would drop its content-version
triggers (0007) and, foreign keys being on, cascade its DROP TABLE to the ideas' needs, history
and applications. So the table's stored definition is rewritten in place, as SQLite documents
for changes that leave every stored row valid (« making other kinds of table schema changes »:
writable_schema, then a schema_version bump so every connection reloads it). Going down, ideas
of origin « carrier » become « fabrique » first, so the narrower CHECK holds.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORIGINS = "'resident', 'town', 'association', 'company', 'fabrique'"
WIDER_ORIGINS = ORIGINS + ", 'carrier'"


def _set_origin_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_ideas_origin"), "ideas", type_="check")
        op.create_check_constraint(op.f("ck_ideas_origin"), "ideas", f"origin IN ({new})")
        return
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ideas'").scalar()
    before, after = f"CHECK (origin IN ({old}))", f"CHECK (origin IN ({new}))"
    if before not in sql:
        raise RuntimeError("ideas: the origin CHECK is not the one this migration expects")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'ideas'",
        (sql.replace(before, after),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.create_table(
        "carrier_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("skills", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("domains", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.Column("availability", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("presentation", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "availability IN ('few_hours', 'part_time', 'full_time', 'to_define')",
            name=op.f("ck_carrier_profiles_availability"),
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_carrier_profiles_territory_id_territories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_carrier_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_profiles")),
        sa.UniqueConstraint("user_id", name="uq_carrier_profiles_user_id"),
    )
    op.create_table(
        "carrier_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_carrier_invitations_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_carrier_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_carrier_invitations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_invitations")),
        sa.UniqueConstraint("idea_id", "user_id", name="uq_carrier_invitations_idea_id_user_id"),
    )
    op.create_index("ix_carrier_invitations_user_id", "carrier_invitations", ["user_id"])
    op.create_table(
        "carrier_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("staff_note", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'accepted', 'declined')", name=op.f("ck_carrier_proposals_status")
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_carrier_proposals_idea_id_ideas"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_carrier_proposals_territory_id_territories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_carrier_proposals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_proposals")),
    )
    op.create_index("ix_carrier_proposals_idea_id", "carrier_proposals", ["idea_id"])
    op.create_index("ix_carrier_proposals_status_id", "carrier_proposals", ["status", "id"])
    op.create_index("ix_carrier_proposals_user_id", "carrier_proposals", ["user_id"])
    _set_origin_check(ORIGINS, WIDER_ORIGINS)


def downgrade() -> None:
    op.execute("UPDATE ideas SET origin = 'fabrique' WHERE origin = 'carrier'")
    _set_origin_check(WIDER_ORIGINS, ORIGINS)
    for name in (
        "ix_carrier_proposals_user_id",
        "ix_carrier_proposals_status_id",
        "ix_carrier_proposals_idea_id",
    ):
        op.drop_index(name, table_name="carrier_proposals")
    op.drop_table("carrier_proposals")
    op.drop_index("ix_carrier_invitations_user_id", table_name="carrier_invitations")
    op.drop_table("carrier_invitations")
    op.drop_table("carrier_profiles")
