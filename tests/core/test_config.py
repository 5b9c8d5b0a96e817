"""Configuration: Mastodon's variable names, the env file, precedence, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedikit.core import config
from fedikit.plugin_api import StartupError


def load(tmp_path: Path, environ: dict[str, str] | None = None, **overrides: str) -> dict:
    return config.load(overrides, environ={"FEDIKIT_DATA_DIR": str(tmp_path), **(environ or {})}, env_file=False)


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings["LOCAL_DOMAIN"] == "localhost:3000"
    assert settings["LOCAL_HTTPS"] is False
    assert settings["BASE_URL"] == "http://localhost:3000"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path.resolve() / 'fedikit.sqlite3'}"
    assert settings["MAX_STATUS_CHARS"] == 500
    assert "REDIS_URL" not in settings


def test_a_real_domain_defaults_to_https(tmp_path: Path) -> None:
    settings = load(tmp_path, LOCAL_DOMAIN="Social.Example.COM", WEB_DOMAIN="web.example.com")
    assert (settings["LOCAL_DOMAIN"], settings["BASE_URL"]) == ("social.example.com", "https://web.example.com")


def test_db_variables_make_a_postgresql_url(tmp_path: Path) -> None:
    settings = load(tmp_path, DB_HOST="db.internal", DB_USER="mastodon", DB_PASS="p@ss:word", DB_NAME="social")
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://mastodon:p%40ss%3Aword@db.internal:5432/social"


def test_database_url_wins_and_is_normalised(tmp_path: Path) -> None:
    settings = load(tmp_path, DATABASE_URL="postgres://u:p@h:6432/db", DB_HOST="ignored")
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@h:6432/db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "DATABASE_URL: cannot parse"),
        ("mysql://u@h/db", "DATABASE_URL: 'mysql' is not supported"),
        ("postgresql://u@h", "DATABASE_URL: the URL names no database"),
        ("sqlite://", "DATABASE_URL: a SQLite URL needs a file path"),
    ],
)
def test_malformed_database_url(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(StartupError, match=message):
        load(tmp_path, DATABASE_URL=url)


def test_redis_host_and_port(tmp_path: Path) -> None:
    assert load(tmp_path, REDIS_HOST="cache", REDIS_PORT="6380")["REDIS_URL"] == "redis://cache:6380/0"
    with pytest.raises(StartupError, match="REDIS_PORT: expected a port number"):
        load(tmp_path, REDIS_HOST="cache", REDIS_PORT="six")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("S3_ENABLED", "maybe", "S3_ENABLED: expected true or false"),
        ("WEB_CONCURRENCY", "two", "WEB_CONCURRENCY: expected a whole number"),
        ("MAX_THREADS", "0", "MAX_THREADS: must be at least 1"),
        ("LOCAL_DOMAIN", "https://example.com/", "LOCAL_DOMAIN: 'https://example.com/' is not a host name"),
        ("ALLOWED_PRIVATE_ADDRESSES", "10.0.0.0/8, nonsense", "ALLOWED_PRIVATE_ADDRESSES: 'nonsense'"),
        ("DB_PORT", "abc", "DB_PORT: expected a port number"),
    ],
)
def test_bad_values_name_their_variable(tmp_path: Path, key: str, value: str, message: str) -> None:
    extra = {"DB_HOST": "h"} if key == "DB_PORT" else {}
    with pytest.raises(StartupError, match=message):
        load(tmp_path, **{key: value, **extra})


def test_env_file_then_environment_then_overrides(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("LOCAL_DOMAIN=file.example\nMAX_STATUS_CHARS=700\nS3_ENABLED=true\n")
    settings = config.load(
        {"S3_ENABLED": "false"},
        environ={"FEDIKIT_DATA_DIR": str(tmp_path), "MAX_STATUS_CHARS": "900"},
        env_file=env_file,
    )
    assert settings["LOCAL_DOMAIN"] == "file.example"  # from the file
    assert settings["MAX_STATUS_CHARS"] == 900  # the environment beats the file
    assert settings["S3_ENABLED"] is False  # create_app's mapping beats both


def test_default_env_file_is_read_from_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env.production").write_text("LOCAL_DOMAIN=from-default-file.example\n")
    settings = config.load(environ={"FEDIKIT_DATA_DIR": str(tmp_path)})
    assert settings["LOCAL_DOMAIN"] == "from-default-file.example"


def test_chosen_env_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="--env-file: .*missing.env does not exist"):
        config.load(environ={}, env_file=tmp_path / "missing.env")


def test_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = load(tmp_path)
    first = config.secret_key(settings)
    assert len(first) == 128 and config.secret_key(settings) == first
    assert (tmp_path / "secret_key_base").stat().st_mode & 0o077 == 0
    assert config.secret_key({**settings, "SECRET_KEY_BASE": "given"}) == "given"


def test_postgresql_connection_pool_size(pg_database: str, tmp_path: Path) -> None:
    from fedikit.core.db import db
    from fedikit.plugin_api.testing import close_app, make_app

    app = make_app({"DATABASE_URL": pg_database, "DB_POOL": "12"}, data_dir=str(tmp_path), migrate=False)
    try:
        with app.app_context():
            assert db.engine.pool.size() == 12
    finally:
        close_app(app)
    default = make_app({"DATABASE_URL": pg_database, "MAX_THREADS": "4", "JOB_WORKERS": "3"}, migrate=False)
    try:
        with default.app_context():
            assert db.engine.pool.size() == 7  # a connection per request thread and per job thread
    finally:
        close_app(default)
    with pytest.raises(StartupError, match="DB_POOL: expected a number of connections"):
        make_app({"DATABASE_URL": pg_database, "DB_POOL": "many"}, migrate=False)
