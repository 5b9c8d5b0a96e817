"""Shared fixtures: every test that uses ``fedikit_app`` runs on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (``FEDIKIT_TEST_PG`` to change);
each test gets a fresh database cloned from a migrated template. Without the
server those runs are skipped with the reason shown, unless
``FEDIKIT_REQUIRE_SERVICES=1`` (as in CI), which makes them fail instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

os.environ.setdefault("FEDIKIT_TEST_FAST_HASHES", "1")  # tests make many accounts; production hashes stay strong

PG_DSN = os.environ.get("FEDIKIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PROFILE = os.environ.get("FEDIKIT_TEST_PROFILE", "embedded")
if PROFILE not in ("embedded", "production"):
    raise pytest.UsageError(f"FEDIKIT_TEST_PROFILE={PROFILE!r}: expected embedded or production")
REQUIRE_SERVICES = os.environ.get("FEDIKIT_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the production profile, run only the tests it changes: those built on the ``database`` fixture.

    Every other test configures its own backends (or none) and already ran,
    identically, in the embedded pass.
    """
    if PROFILE != "production":
        return
    unchanged = pytest.mark.skip(reason="not affected by the production profile: runs in the embedded pass")
    for item in items:
        if "database" not in getattr(item, "fixturenames", ()):
            item.add_marker(unchanged)


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; FEDIKIT_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


def _admin_connection() -> Any:
    import psycopg

    return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)


def _url_for(database: str) -> str:
    from sqlalchemy.engine import make_url

    return (
        make_url(PG_DSN).set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that each PostgreSQL test clones."""
    try:
        connection = _admin_connection()
    except Exception as exc:  # any failure to reach the server
        service_missing("PostgreSQL", exc)
    name = f"fedikit_tpl_{secrets.token_hex(4)}"
    connection.execute(f'CREATE DATABASE "{name}"')
    try:
        from fedikit.plugin_api.testing import close_app, make_app

        app = make_app({"DATABASE_URL": _url_for(name)}, data_dir=str(tmp_path_factory.mktemp("pg-template")))
        close_app(app)
        yield name
    finally:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


@pytest.fixture
def pg_database(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test; its URL."""
    name = f"fedikit_test_{secrets.token_hex(6)}"
    with _admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield _url_for(name)
    finally:
        with _admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """Config selecting the database for this run of the test (and, in the production profile, the services).

    ``FEDIKIT_TEST_PROFILE=production`` runs every test that takes this
    fixture as a production instance runs: on PostgreSQL, with Redis feeds,
    the RQ queue (worker threads in the test process), Redis pub/sub and S3
    media on a real S3 server. The SQLite runs are skipped then: the embedded
    profile (the default) covers them.
    """
    if PROFILE == "production":
        if request.param == "sqlite":
            pytest.skip("the production profile runs on PostgreSQL only")
        return {"DATABASE_URL": request.getfixturevalue("pg_database"), **request.getfixturevalue("production")}
    if request.param == "postgres":
        return {"DATABASE_URL": request.getfixturevalue("pg_database")}
    return {}


class SettlingClient:
    """Mixed into the production profile's test client: each request's background work is done before it returns.

    On the embedded defaults a post is in its followers' feeds at once (they are
    read from SQL); on Redis feeds it gets there by a fan-out job a moment later,
    as in Mastodon. Tests that read their writes see the same world in both.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from fedikit.plugin_api.testing import settle

        response = super().open(*args, **kwargs)  # type: ignore[misc]
        settle(self.application)  # type: ignore[attr-defined]
        return response


@pytest.fixture
def fedikit_client(fedikit_app: Any) -> Any:
    if PROFILE == "production":
        base = fedikit_app.test_client_class or FlaskClient
        fedikit_app.test_client_class = type("ProductionClient", (SettlingClient, base), {})
    return fedikit_app.test_client()


@pytest.fixture
def production(redis_config: dict[str, str], moto: Any, bucket: str) -> dict[str, str]:
    """The settings of the production profile's services (PostgreSQL aside)."""
    return {
        **redis_config,
        "FEEDS_BACKEND": "redis",
        "QUEUE_BACKEND": "rq",
        "RQ_WORKER_THREADS": "2",
        "STREAMING_BACKEND": "redis",
        **moto.config(bucket),
    }


@pytest.fixture
def fedikit_config(database: dict[str, str]) -> dict[str, Any]:
    return dict(database)


REDIS_TEST_URL = os.environ.get("FEDIKIT_TEST_REDIS", "redis://127.0.0.1:6379/9")


@pytest.fixture
def redis_config() -> Iterator[dict[str, str]]:
    """Settings for the Redis server at 127.0.0.1:6379 (``FEDIKIT_TEST_REDIS`` to change), db 9.

    Each test gets its own ``REDIS_NAMESPACE`` (the prefix of every key the
    Redis backends write; RQ's own keys begin with ``rq:`` and carry the
    namespace in their queue and job names); its keys are deleted
    afterwards. Without the server the test is skipped, or fails under
    ``FEDIKIT_REQUIRE_SERVICES=1``.
    """
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # any failure to reach the server
        service_missing("Redis", exc)
    namespace = f"fkt{secrets.token_hex(4)}"
    try:
        yield {"REDIS_URL": REDIS_TEST_URL, "REDIS_NAMESPACE": namespace}
    finally:
        keys = [*client.scan_iter(f"{namespace}:*", count=1000), *client.scan_iter(f"rq:*{namespace}*", count=1000)]
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        stale = [queue for queue in client.smembers("rq:queues") if namespace.encode() in queue]
        if stale:
            client.srem("rq:queues", *stale)
        client.close()


@pytest.fixture(scope="session")
def moto() -> Iterator[Any]:
    """One S3-compatible server (moto's, in a process of its own) for the session; tests take buckets on it."""
    from s3_server import moto_server

    with moto_server() as server:
        yield server


@pytest.fixture
def s3(moto: Any) -> Iterator[Any]:
    """A boto3 client on the test server, for looking into buckets."""
    client = moto.client()
    yield client
    client.close()


@pytest.fixture
def bucket(moto: Any, s3: Any) -> Iterator[str]:
    """A new, empty bucket on the test server; emptied and removed afterwards."""
    from s3_server import empty_and_delete

    name = f"fkt-{secrets.token_hex(6)}"
    s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete(s3, name)
