"""visitors' addresses are kept only as keyed hashes: the rows written in clear are dropped (issue 18)

From this revision `rate_events` keys (`<action>:ip:…`) and `login_failures.ip` hold an HMAC of
the client's address or IPv6 /64 (app.core.ratelimit.address_key), never the address. The rows
written before it held addresses in clear: they are deleted here rather than kept until the
worker's purge. They only counted towards limits of at most a day (failed logins: 15 minutes),
so the one effect is that those windows start afresh at the upgrade.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM rate_events WHERE key LIKE '%:ip:%'")
    op.execute("DELETE FROM login_failures")


def downgrade() -> None:
    # Nothing to restore: the deleted rows were short-lived counters.
    pass
