"""A version number of each user's filters: read with the user's token, it keys the filters kept per process.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("filters_version", sa.Integer(), server_default="0", nullable=False))
    # 0 means "no filter ever": users who have filters start at 1.
    op.execute("UPDATE users SET filters_version = 1 WHERE account_id IN (SELECT account_id FROM custom_filters)")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("filters_version")
