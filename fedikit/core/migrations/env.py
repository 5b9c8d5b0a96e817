"""Alembic environment: runs inside an app context set up by fedikit.core.database."""

from __future__ import annotations

from alembic import context

from fedikit.core.db import db

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=db.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
