"""The plans of the queries every client runs all day: a page must not cost a sort of the whole table."""

from __future__ import annotations

from typing import Any

import pytest
from people import local
from sqlalchemy import event

from fedikit.core.db import db
from fedikit.core.pagination import page_params
from fedikit.core.services import relationships, statuses
from fedikit.core.services.timelines import home_page_template
from fedikit.plugin_api.testing import settle


def sqlite_plan(statement: Any, params: dict[str, Any]) -> str:
    """SQLite's EXPLAIN QUERY PLAN for the SQL ``statement`` runs as, with the same values."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((sql, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        db.session.execute(statement, params).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    sql, parameters = next((sql, parameters) for sql, parameters in seen if sql.startswith("SELECT statuses.id"))
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters).all()
    return "\n".join(row[-1] for row in rows)


def test_sqlite_home_page_walks_the_primary_key(fedikit_app: Any) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL picks these plans by itself")
    alice, bob = local("alice"), local("bob")
    relationships.follow(alice, bob)
    statuses.post(bob, "hello")
    settle(fedikit_app)  # no job's SQL in the way
    template = home_page_template(alice.id, max_id=False, since_id=False, min_id=False)
    plan = sqlite_plan(template, page_params(limit=20))
    assert "SCAN statuses USING INDEX sqlite_autoindex_statuses_1" in plan, plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
