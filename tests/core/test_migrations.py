"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fedikit.core.database import pending
from fedikit.core.db import db
from fedikit.plugin_api.testing import close_app, make_app


def test_migrated_schema_matches_models(fedikit_app: Any) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    # sql_search's own tables and indexes (its migration, not core's models) and the
    # expression index, which SQLite cannot reflect, are not part of the comparison.
    diff = [d for d in diff if not _ignored(d)]
    assert diff == []


def _ignored(difference: tuple) -> bool:
    kind, item = difference[0], difference[1]
    name = getattr(item, "name", "") or ""
    if kind in ("remove_table", "remove_index") and "search_documents" in (name + str(getattr(item, "table", ""))):
        return True
    return kind in ("add_index", "remove_index") and name == "ix_accounts_username_domain"


def test_pending_lists_unapplied_revisions_until_upgraded(database: dict[str, str], tmp_path: Any) -> None:
    if database:  # PostgreSQL: the cloned database is migrated already
        app = make_app(database, data_dir=str(tmp_path), migrate=False)
        assert pending(app) == []
        close_app(app)
        return
    app = make_app({}, data_dir=str(tmp_path), migrate=False)
    assert pending(app) == ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "sql_search_0001"]
    from fedikit.core.database import upgrade

    upgrade(app)
    assert pending(app) == []
    close_app(app)


def test_plugin_migration_folder_with_a_space_in_its_path(tmp_path: Any) -> None:
    import shutil
    from pathlib import Path

    from sqlalchemy import inspect as sa_inspect

    from fedikit.plugin_api import hookimpl

    folder = tmp_path / "my migrations"
    shutil.copytree(Path(__file__).parents[1] / "plugin_api" / "hook_migrations", folder)

    class Plugin:
        name = "spaced"

        @hookimpl
        def register_migrations(self) -> Path:
            return folder

    app = make_app({}, plugins=[Plugin()], data_dir=str(tmp_path / "data"))
    with app.app_context():
        assert "hooktest_notes" in sa_inspect(db.engine).get_table_names()
    close_app(app)
