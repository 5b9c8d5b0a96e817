"""The SQLAlchemy handle and the declarative base every model uses."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Boolean, DateTime, MetaData, String, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine

from fedikit.core.ids import next_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(datetime.UTC)")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # PostgreSQL's timestamptz always comes back with its zone: nothing to add, and a page of
        # statuses reads a few hundred of them (the inner type's processing, if any, is kept).
        if dialect.name == "postgresql":
            return self.impl_instance.result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)


class IdList(TypeDecorator[list[int]]):
    """A list of ids bound as one parameter: an array on PostgreSQL, a JSON array elsewhere (SQLite)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(BigInteger))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        ids = [int(id_) for id_ in value]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _Among(ColumnElement[bool]):
    __visit_name__ = "fedikit_among"
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition as it stands (SQLite would otherwise get ``... = 1``)
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("ids", InternalTraversal.dp_clauseelement)]
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], ids: Any) -> None:
        self.column = column
        self.ids = ids


def among(column: Any, name: str) -> ColumnElement[bool]:
    """``column`` is one of the ids bound as ``name`` (a list or set of ints at execution).

    What ``column.in_(bindparam(name, expanding=True))`` says, as one parameter
    whatever the list's length: the statement's text stays the same, so neither
    SQLAlchemy nor the driver rewrites it per call (``= ANY(array)`` on
    PostgreSQL, ``IN (SELECT value FROM json_each(...))`` on SQLite). For the
    statements kept and run on every request with lists of ids (a page).
    """
    return _Among(column, bindparam(name, type_=IdList()))


@compiles(_Among)
def _among_json(element: _Among, compiler: Any, **kw: Any) -> str:
    ids = compiler.process(element.ids, **kw)
    return f"{compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({ids}))"


@compiles(_Among, "postgresql")
def _among_array(element: _Among, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.ids, **kw)})"


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class SnowflakeMixin:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=next_id, autoincrement=False)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


db = SQLAlchemy(model_class=Base)


def commit_keeping_state() -> None:
    """Commit, keeping every object's attributes as written instead of reading them back on next use.

    For a service that has just written rows and is about to hand them on (to
    serializers, jobs, hooks): what it holds is what the database now holds,
    and the read-back would cost a query per row and per collection. Values
    the database computed (``x = Model.x + 1``) are expired at the flush
    already and still reload.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def commit_unless_duplicate() -> bool:
    """Commit; False (rolled back, nothing changed) when a unique row was stored first by someone else.

    For double taps and concurrent requests that create the same favourite,
    follow, tag...: the caller then looks up the row that won.
    """
    from sqlalchemy.exc import IntegrityError

    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """SQLite: enforce foreign keys, and WAL so readers do not block the writer."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")  # job threads and requests write concurrently
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _SQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, with table hints: ``select(...).with_hint(Status, "INDEXED BY ...", "sqlite")``."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def prepare_engine(engine: Engine) -> None:
    """Per-dialect adjustments made once when the app's engine exists."""
    if engine.dialect.name == "sqlite":
        import sqlite3

        from fedikit.plugin_api import StartupError

        if sqlite3.sqlite_version_info < (3, 35):  # UPDATE ... RETURNING; json_each is built in from 3.38
            raise StartupError(f"SQLite 3.35 or later is needed (this Python has {sqlite3.sqlite_version})")
        engine.dialect.statement_compiler = _SQLiteCompiler
    else:
        from fedikit.core import postgres

        _ping_after_idle(engine)
        event.listen(engine, "connect", postgres.connected)


IDLE_BEFORE_PING = 10.0  # seconds a pooled connection may sit unused and still be lent without a check


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before lending it, if it sat unused for a while (the server may have
    closed it meanwhile: a restart, an idle timeout).

    A check costs a round trip; on a busy instance connections go back and
    forth many times a second, and checking each time (``pool_pre_ping``) cost a
    round trip per request and per job. An idle connection found dead is
    replaced at once, without the caller seeing it. The trade: when the server
    restarts under load, the first statement on a connection used moments
    before fails (one request or job per process, retried as jobs are);
    SQLAlchemy then replaces the whole pool.
    """
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["fedikit.returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _lent(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get("fedikit.returned")
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING:
            return  # just made, or in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled database connection was closed while it sat unused") from exc


# ---------------------------------------------------------------- transactions

_WROTE = "fedikit.db.wrote"


def has_writes(session: Session) -> bool:
    """Whether ``session``'s transaction holds writes, pending or already flushed."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _ended(session: Session) -> None:
    session.info.pop(_WROTE, None)


def end_read_transactions(app: Any) -> None:
    """Commit a request's transaction when it only read, before the session is closed.

    Closing rolls back, and psycopg drops every prepared statement of the
    connection on a rollback: PostgreSQL would parse and plan the timeline
    queries again on every request. A transaction with writes left over (an
    error) is still rolled back.
    """

    @app.teardown_request
    def _commit_reads(exc: BaseException | None) -> None:
        session = db.session()
        if session.in_transaction() and not has_writes(session):
            session.commit()
