"""Full-text search in the database: SQLite FTS5 or PostgreSQL's text search."""

from __future__ import annotations

from pathlib import Path

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.SEARCH, "sql", _build, description="SQLite FTS5 / PostgreSQL full text")


@hookimpl
def register_migrations() -> Path:
    return Path(__file__).parent / "migrations"


def _build(context: BackendContext) -> object:
    from fedikit.plugins.sql_search.index import SqlSearchIndex

    return SqlSearchIndex()
