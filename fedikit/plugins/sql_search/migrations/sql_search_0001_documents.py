"""search_documents: the sql_search plugin's index.

Revision ID: sql_search_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "sql_search_0001"
down_revision = None
branch_labels = ("sql_search",)
depends_on = "0001"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_documents USING fts5("
            "kind UNINDEXED, doc_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        return
    op.create_table(
        "search_documents",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("doc_id", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("kind", "doc_id", name="pk_search_documents"),
    )
    op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (to_tsvector('simple', body))")


def downgrade() -> None:
    op.execute("DROP TABLE search_documents")
