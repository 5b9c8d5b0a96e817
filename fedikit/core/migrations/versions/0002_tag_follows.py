"""Followed hashtags.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_follows",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tag_follows_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_tag_follows_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_follows")),
        sa.UniqueConstraint("account_id", "tag_id", name=op.f("uq_tag_follows_account_id_tag_id")),
    )
    op.create_index(op.f("ix_tag_follows_tag_id"), "tag_follows", ["tag_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tag_follows_tag_id"), table_name="tag_follows")
    op.drop_table("tag_follows")
