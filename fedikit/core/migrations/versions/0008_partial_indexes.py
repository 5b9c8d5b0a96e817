"""Partial indexes for two conditions every timeline page checks: suspended authors, follows hiding boosts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    suspended = sa.text("suspended_at IS NOT NULL")
    op.create_index("ix_accounts_suspended", "accounts", ["id"], postgresql_where=suspended, sqlite_where=suspended)
    hides = sa.text("show_reblogs IS false")
    op.create_index(
        "ix_follows_hidden_reblogs",
        "follows",
        ["account_id", "target_account_id"],
        postgresql_where=hides,
        sqlite_where=sa.text("show_reblogs IS 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_follows_hidden_reblogs", table_name="follows")
    op.drop_index("ix_accounts_suspended", table_name="accounts")
