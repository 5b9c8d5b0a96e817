"""Reports remember the moderator who resolved them, as Mastodon's admin API shows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("action_taken_by_account_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            "fk_reports_action_taken_by_account_id_accounts",
            "accounts",
            ["action_taken_by_account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint("fk_reports_action_taken_by_account_id_accounts", type_="foreignkey")
        batch.drop_column("action_taken_by_account_id")
