"""A plugin's own table, for the register_migrations test.

Revision ID: hooktest_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "hooktest_0001"
down_revision = None
branch_labels = ("hooktest",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "hooktest_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.id", ondelete="CASCADE")),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hooktest_notes")
