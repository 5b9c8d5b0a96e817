"""How requests end their database transactions."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text

from fedikit.core.db import db


def in_own_contexts(app: Any, work: Any) -> Any:
    """Run ``work`` in a thread with no app context, so each request pushes and pops its own."""
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", work()))
    thread.start()
    thread.join(60)
    return out["result"]


def test_read_only_requests_keep_postgresql_prepared_statements(fedikit_app: Any) -> None:
    """A request that only read ends with a commit: a rollback would make psycopg drop them all."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    client = fedikit_app.test_client()

    def work() -> int:
        for _ in range(8):  # psycopg prepares a statement on its fifth run
            assert client.get("/api/v1/timelines/public").status_code == 200
        with fedikit_app.app_context():  # the pool's idle connection: the one the requests used
            return db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()

    assert in_own_contexts(fedikit_app, work) > 0


def test_a_request_that_failed_after_writing_is_rolled_back(fedikit_app: Any) -> None:
    from fedikit.core.models import Account

    def explode() -> str:
        db.session.add(Account(username="ghost", uri="https://example.com/ghost"))
        db.session.flush()
        raise RuntimeError("after the flush")

    fedikit_app.add_url_rule("/test-explode", "test_explode", explode)
    fedikit_app.config["PROPAGATE_EXCEPTIONS"] = False  # answer 500 as in production
    client = fedikit_app.test_client()
    assert in_own_contexts(fedikit_app, lambda: client.get("/test-explode").status_code) == 500
    assert db.session.query(Account).filter_by(username="ghost").count() == 0
