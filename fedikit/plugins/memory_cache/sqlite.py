"""A cache every process of one machine shares: a SQLite file in the data directory, no service needed.

For several web processes on embedded defaults (``WEB_CONCURRENCY`` > 1
without Redis): rate limits count every process's requests, and a retried
post's Idempotency-Key is recognised whichever process gets it. Each write
is one statement in its own transaction (WAL, no fsync: the values are
short-lived by nature, so a power cut may lose the last ones and nothing
else). Expiry is by wall clock, the one clock processes share.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fedikit.plugin_api import BackendError, StartupError

SWEEP_EVERY = 10_000  # writes (per process) between removals of expired entries

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value, expires REAL NOT NULL) WITHOUT ROWID"
_INCR = (
    "INSERT INTO entries (key, value, expires) VALUES (:key, 1, :until) ON CONFLICT (key) DO UPDATE SET "
    "value = CASE WHEN expires <= :now THEN 1 ELSE value + 1 END, "
    "expires = CASE WHEN expires <= :now THEN excluded.expires ELSE expires END "
    "RETURNING value"
)
_SET = (
    "INSERT INTO entries (key, value, expires) VALUES (:key, :value, :until) ON CONFLICT (key) DO UPDATE SET "
    "value = excluded.value, expires = excluded.expires"
)
_SET_IF_ABSENT = _SET + " WHERE expires <= :now"
_GET = "SELECT value FROM entries WHERE key = :key AND expires > :now"


class SQLiteCache:
    shared = True

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        if sqlite3.sqlite_version_info < (3, 35):
            raise StartupError(
                f"CACHE_BACKEND=sqlite needs SQLite 3.35 or later (this one is {sqlite3.sqlite_version})"
            )
        self._path = path
        self._clock = clock
        self._local = threading.local()
        self._writes = 0
        # Made with a connection of its own, closed at once: the app is built before gunicorn forks, and a
        # SQLite connection must not be carried into a forked process.
        with contextlib.closing(self._connect()) as setup:
            setup.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=10, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: no wait for the disk at each write
        return connection

    def _connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "connection", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        connection = self._connect()  # one per thread and process (never one carried across a fork)
        self._local.connection = (os.getpid(), connection)
        return connection

    def _run(self, statement: str, parameters: dict[str, object]) -> sqlite3.Cursor:
        try:
            return self._connection().execute(statement, parameters)
        except sqlite3.Error as exc:
            raise BackendError(f"the cache file {self._path} failed: {exc}") from exc

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            self._run("DELETE FROM entries WHERE expires <= :now", {"now": self._clock()})

    def incr(self, key: str, ttl: int) -> int:
        now = self._clock()
        (count,) = self._run(_INCR, {"key": key, "until": now + ttl, "now": now}).fetchone()
        self._wrote()
        return int(count)

    def get(self, key: str) -> str | None:
        found = self._run(_GET, {"key": key, "now": self._clock()}).fetchone()
        return None if found is None else str(found[0])

    def set(self, key: str, value: str, ttl: int, *, only_if_absent: bool = False) -> bool:
        now = self._clock()
        cursor = self._run(
            _SET_IF_ABSENT if only_if_absent else _SET, {"key": key, "value": value, "until": now + ttl, "now": now}
        )
        self._wrote()
        return cursor.rowcount > 0

    def delete(self, key: str) -> None:
        self._run("DELETE FROM entries WHERE key = :key", {"key": key})
