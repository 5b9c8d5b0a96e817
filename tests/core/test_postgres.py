"""Talking to PostgreSQL with its own placeholders and columns described on demand (fedikit.core.postgres)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, text

from fedikit.core.db import db
from fedikit.core.models import Account


@pytest.fixture
def postgresql(fedikit_app: Any) -> Any:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's placeholders and cursors")
    return fedikit_app


@pytest.mark.usefixtures("postgresql")
def test_literal_percent_and_dollar_signs_pass_through_untouched() -> None:
    row = db.session.execute(text("SELECT 'a%b', '$1', :x || '%'"), {"x": "50"}).one()
    assert tuple(row) == ("a%b", "$1", "50%")
    db.session.add(Account(username="per_cent", uri="https://example.com/per_cent"))
    db.session.flush()
    found = db.session.scalars(select(Account.username).where(Account.username.like("per\\_%", escape="\\"))).all()
    assert found == ["per_cent"]


@pytest.mark.usefixtures("postgresql")
def test_the_same_statement_described_once_then_reused() -> None:
    statement = select(Account.id, Account.username).where(Account.username == "nobody")
    for _ in range(7):  # prepared by psycopg on its fifth run; SQLAlchemy keeps the first description
        assert db.session.execute(statement).all() == []
    result = db.session.execute(text("UPDATE accounts SET note = note WHERE false"))
    assert result.returns_rows is False and result.rowcount == 0


@pytest.mark.usefixtures("postgresql")
def test_a_description_read_after_the_cursor_moved_on_is_refused() -> None:
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    cursor.execute("SELECT $1::int AS first", (1,))
    columns = cursor.description
    assert len(columns) == 1
    cursor.execute("SELECT 2 AS second")
    with pytest.raises(RuntimeError, match="after its cursor ran another statement"):
        columns[0]
    assert [column.name for column in cursor.description] == ["second"]


@pytest.mark.usefixtures("postgresql")
def test_streamed_results_use_a_named_cursor_with_the_same_placeholders() -> None:
    for name in ("s1", "s2", "s3"):
        db.session.add(Account(username=name, uri=f"https://example.com/{name}"))
    db.session.flush()
    streamed = db.session.execute(
        select(Account.username).where(Account.username.in_(["s1", "s2", "s3"])).order_by(Account.username),
        execution_options={"stream_results": True, "max_row_buffer": 2},
    )
    assert streamed.scalars().all() == ["s1", "s2", "s3"]


@pytest.mark.usefixtures("postgresql")
def test_times_come_back_zone_aware_whatever_the_session_time_zone() -> None:
    written = dt.datetime(2026, 11, 28, 12, 30, tzinfo=dt.UTC)
    db.session.add(Account(username="timely", uri="https://example.com/timely", last_status_at=written))
    db.session.flush()
    db.session.execute(text("SET LOCAL TIME ZONE 'Asia/Tokyo'"))
    read = db.session.scalar(select(Account.last_status_at).where(Account.username == "timely"))
    assert read == written and read.utcoffset() == dt.timedelta(hours=9)
