"""Direct conversations per account, featured hashtags, private notes on accounts, still frames of profile images.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_conversations",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("participants_key", sa.String(length=64), nullable=False),
        sa.Column("participant_account_ids", sa.JSON(), nullable=False),
        sa.Column("status_ids", sa.JSON(), nullable=False),
        sa.Column("last_status_id", sa.BigInteger(), nullable=True),
        sa.Column("unread", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_conversations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_account_conversations_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_status_id"],
            ["statuses.id"],
            name=op.f("fk_account_conversations_last_status_id_statuses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_conversations")),
        sa.UniqueConstraint(
            "account_id",
            "conversation_id",
            "participants_key",
            name=op.f("uq_account_conversations_account_id_conversation_id_participants_key"),
        ),
    )
    op.create_index(
        "ix_account_conversations_account_id_last_status_id",
        "account_conversations",
        ["account_id", "last_status_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_account_conversations_conversation_id"), "account_conversations", ["conversation_id"], unique=False
    )

    op.create_table(
        "featured_tags",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_featured_tags_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_featured_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_featured_tags")),
        sa.UniqueConstraint("account_id", "tag_id", name=op.f("uq_featured_tags_account_id_tag_id")),
    )
    op.create_index(op.f("ix_featured_tags_tag_id"), "featured_tags", ["tag_id"], unique=False)

    op.create_table(
        "account_notes",
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_notes_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=op.f("fk_account_notes_target_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_notes")),
        sa.UniqueConstraint(
            "account_id", "target_account_id", name=op.f("uq_account_notes_account_id_target_account_id")
        ),
    )
    op.create_index(op.f("ix_account_notes_target_account_id"), "account_notes", ["target_account_id"], unique=False)

    # Nullable columns: SQLite adds them in place, no table rebuild.
    op.add_column("accounts", sa.Column("avatar_static_key", sa.String(length=1024), nullable=True))
    op.add_column("accounts", sa.Column("header_static_key", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("header_static_key")
        batch_op.drop_column("avatar_static_key")
    op.drop_index(op.f("ix_account_notes_target_account_id"), table_name="account_notes")
    op.drop_table("account_notes")
    op.drop_index(op.f("ix_featured_tags_tag_id"), table_name="featured_tags")
    op.drop_table("featured_tags")
    op.drop_index(op.f("ix_account_conversations_conversation_id"), table_name="account_conversations")
    op.drop_index("ix_account_conversations_account_id_last_status_id", table_name="account_conversations")
    op.drop_table("account_conversations")
