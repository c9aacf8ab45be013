"""reports bump the content version: the moderation dashboard is rendered once per version (issue 13)

The dashboard counts pending needs and comments (public tables: their writes bump the version)
and open reports. With reports bumping it too, everything the dashboard shows changes the
version, and it can be rendered once per role and version like the staff idea board
(app/web/personal.py): at 100,000 needs it was the slowest signed-in page (about 8 ms per
visit, 212 per second on two workers). A report is rare next to a page view: the anonymous
cache loses little by it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Added to migration 0007's PUBLIC_TABLES, as at this revision (table → columns whose UPDATE
# counts, None: any); tests/web/test_anonymous_cache.py checks the app's list against them.
PUBLIC_TABLES_ADDED: dict[str, tuple[str, ...] | None] = {"reports": None}

# Migration 0007's bump, as it was then.
SQLITE_BUMP = (
    "UPDATE content_version SET version = version + 1, "
    "changed_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = 1;"
)
NAMES = [("cv_reports_ins", "INSERT"), ("cv_reports_upd", "UPDATE"), ("cv_reports_del", "DELETE")]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, event in NAMES:
        if postgresql:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER {event} ON reports "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION bump_content_version()"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON reports BEGIN {SQLITE_BUMP} END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, _event in NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON reports" if postgresql else ""))
