"""Custom emojis' images kept here (the image and a still PNG of its first frame), as Mastodon keeps them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("custom_emojis") as batch:
        batch.add_column(sa.Column("image_key", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("image_static_key", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("custom_emojis") as batch:
        batch.drop_column("image_static_key")
        batch.drop_column("image_key")
