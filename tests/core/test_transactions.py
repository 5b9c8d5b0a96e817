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


def test_a_connection_the_server_closed_while_idle_is_replaced_unseen(
    fedikit_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooled connections are checked after sitting unused, not on every use: the server may drop them."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to close connections")
    from fedikit.core import db as db_module

    client = fedikit_app.test_client()

    def backend() -> int:
        assert client.get("/api/v1/timelines/public").status_code == 200
        with fedikit_app.app_context():
            return db.session.execute(text("SELECT pg_backend_pid()")).scalar()

    first = in_own_contexts(fedikit_app, backend)
    assert in_own_contexts(fedikit_app, backend) == first  # lent again at once: the same connection, unchecked
    with fedikit_app.app_context():
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        admin = create_engine(db.engine.url, poolclass=NullPool)  # not from the pool under test
    with admin.connect() as other:  # the server ends the pooled connection, as a restart would
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        other.commit()
    admin.dispose()
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", 0.0)  # as if it had sat unused for a while
    assert in_own_contexts(fedikit_app, backend) != first  # checked, found closed, replaced: no error seen
