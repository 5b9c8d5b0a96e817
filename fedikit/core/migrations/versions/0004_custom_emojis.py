"""Custom emojis (remote servers' ``:shortcode:`` images, known from their posts).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_emojis",
        sa.Column("shortcode", sa.String(length=128), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("image_remote_url", sa.String(length=2048), nullable=True),
        sa.Column("visible_in_picker", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_emojis")),
        sa.UniqueConstraint("shortcode", "domain", name=op.f("uq_custom_emojis_shortcode_domain")),
    )


def downgrade() -> None:
    op.drop_table("custom_emojis")
