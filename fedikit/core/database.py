"""Migrations: core's Alembic revisions plus every folder plugins hand over."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from fedikit.core.db import db

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions")]
    pm = app.extensions["fedikit"].pm
    for impl in pm.hook.register_migrations.get_hookimpls():
        folder = impl.function()
        if folder is not None:
            locations.append(str(Path(folder)))
    # os.pathsep, not spaces: folder names may contain spaces
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    return cfg


def upgrade(app: Flask, revision: str = "heads") -> None:
    with app.app_context(), db.engine.begin() as connection:
        cfg = alembic_config(app)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def pending(app: Flask) -> list[str]:
    """Revisions not yet applied (empty when the database is up to date).

    Alembic records only the heads it reached, and a plugin's branch that
    depends on a core revision makes that core revision an ancestor rather
    than a head, so the answer is "what lies between the applied heads and
    the script's heads", not a comparison of head sets.
    """
    with app.app_context(), db.engine.connect() as connection:
        script = ScriptDirectory.from_config(alembic_config(app))
        current = MigrationContext.configure(connection).get_current_heads()
        return sorted(rev.revision for rev in script.iterate_revisions("heads", current or "base"))
