"""How this instance talks to PostgreSQL through psycopg: the engine options, with what each saves.

Imported only when the database is PostgreSQL (psycopg comes with the
``postgres`` extra). Measured on the home timeline, where a request runs four
statements and reads about 120 result columns, each of these was 4-8% of
the request's Python time:

- SQLAlchemy writes PostgreSQL's own placeholders (``$1``), and psycopg's
  raw cursor sends the statement as it is. With ``%(name)s`` placeholders,
  psycopg rewrote every statement with a regular expression, and caches
  the rewrite only for statements under 4 KB: the timeline's two main
  statements are longer (the visibility rules), so they were rewritten on
  every request.
- A result's column descriptions are made only when asked for
  (:class:`Cursor`): SQLAlchemy reads them once per compiled statement and
  afterwards only checks whether there are any.
- JSON columns are parsed by orjson.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from psycopg import pq

_ROWS = frozenset({pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK})


class Cursor(psycopg.RawCursor):
    """psycopg's raw cursor (``$1`` placeholders), whose ``description`` is made on first use."""

    @property
    def description(self) -> Sequence[psycopg.Column] | None:
        result = self.pgresult
        if result is None or not (result.nfields or result.status in _ROWS):
            return None  # as psycopg answers: no rows to describe
        return _Columns(self, result)


class _Columns(Sequence[psycopg.Column]):
    """The columns of one result, described by psycopg when the first of them is read."""

    __slots__ = ("_cursor", "_result", "_made")

    def __init__(self, cursor: Cursor, result: pq.abc.PGresult) -> None:
        self._cursor = cursor
        self._result = result
        self._made: list[psycopg.Column] | None = None

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index: Any) -> Any:
        if self._made is None:
            if self._cursor.pgresult is not self._result:
                raise RuntimeError("a result's columns were read after its cursor ran another statement")
            self._made = psycopg.RawCursor.description.fget(self._cursor) or []
        return self._made[index]


def connected(dbapi_connection: psycopg.Connection, record: Any) -> None:
    """Each new connection: named (server-side) cursors take ``$1`` placeholders too."""
    dbapi_connection.server_cursor_factory = psycopg.RawServerCursor


def engine_options() -> dict[str, Any]:
    """What :func:`sqlalchemy.create_engine` is given for a PostgreSQL database, besides the pool."""
    return {
        "paramstyle": "numeric_dollar",
        "json_deserializer": orjson.loads,
        "connect_args": {
            "cursor_factory": Cursor,
            # No JIT: the timeline queries' correlated subqueries push their estimated
            # cost past jit_above_cost, and compiling them took 100 ms for a 2 ms query.
            # Generic plans: psycopg prepares every statement run five times, and then
            # PostgreSQL plans the home feed's query again on each run unless told to
            # keep one plan: 5.8 ms of planning for 3 ms of work. Every statement here
            # takes ids and times as parameters, whose plan does not change with them.
            "options": "-c jit=off -c plan_cache_mode=force_generic_plan",
        },
    }
