"""Configuration from the environment and an env file, with Mastodon's variable names.

Precedence, highest first: the ``config`` mapping given to ``create_app``, the
process environment, the env file (``.env.production`` unless another is
chosen), plugins' ``config_defaults``, and the defaults below.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from fedikit.plugin_api import StartupError

DEFAULT_ENV_FILE = ".env.production"
DEFAULT_LOCAL_DOMAIN = "localhost:3000"

DEFAULTS: dict[str, Any] = {
    "LOCAL_DOMAIN": DEFAULT_LOCAL_DOMAIN,
    "FEDIKIT_DATA_DIR": "./instance-data",
    "FEDIKIT_PLUGINS": "",
    "FEDIKIT_DISABLED_PLUGINS": "",
    "MODERATION_FILTERS": "",
    "S3_ENABLED": "false",
    "ES_ENABLED": "false",
    "ALLOWED_PRIVATE_ADDRESSES": "",
    "TRUSTED_PROXY_IP": "127.0.0.1/8,::1/128",  # a proxy on this machine may say who the caller is
    "SINGLE_USER_MODE": "false",
    "WEB_CONCURRENCY": "1",
    "MAX_THREADS": "5",
    "JOB_WORKERS": "2",
    "MAX_STATUS_CHARS": "500",
    "REGISTRATIONS_MODE": "none",  # open, approved or none (Mastodon's names): who may sign up through an app
    "TRENDS_ENABLED": "false",  # trending hashtags and statuses (/api/v1/trends/*): off until the admin opts in
    "STREAMING_MAX_CONNECTIONS": "100",  # open streams per web process (each holds a thread of its own)
    "STREAMING_HEARTBEAT": "15",  # seconds between heartbeats (and token re-checks) on an open stream
    "FEED_MAX_ITEMS": "400",  # ids kept per precomputed feed (Mastodon's FeedManager::MAX_ITEMS)
    "FEED_ACTIVE_DAYS": "7",  # fan-out skips users idle longer; their feed is rebuilt when they return
    "RENDER_CACHE_SIZE": "4000",  # statuses and accounts kept rendered per process (fedikit.core.renders); 0: none
}
REGISTRATIONS_MODES = ("open", "approved", "none")

BOOLEAN_KEYS = ("LOCAL_HTTPS", "S3_ENABLED", "ES_ENABLED", "SINGLE_USER_MODE", "AUTHORIZED_FETCH", "TRENDS_ENABLED")
INTEGER_KEYS = (
    "WEB_CONCURRENCY",
    "MAX_THREADS",
    "JOB_WORKERS",
    "MAX_STATUS_CHARS",
    "STREAMING_MAX_CONNECTIONS",
    "STREAMING_HEARTBEAT",
    "FEED_MAX_ITEMS",
    "FEED_ACTIVE_DAYS",
    "RENDER_CACHE_SIZE",
)
MAY_BE_ZERO = ("RENDER_CACHE_SIZE",)
LIST_KEYS = ("FEDIKIT_PLUGINS", "FEDIKIT_DISABLED_PLUGINS", "MODERATION_FILTERS")

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "f", ""})


def bool_word(value: Any) -> bool | None:
    """``true/false/1/0/yes/no/on/off`` (any case) as a bool; None for anything else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def parse_bool(key: str, value: Any) -> bool:
    parsed = bool_word(value)
    if parsed is None:
        raise StartupError(f"{key}: expected true or false, got {value!r}")
    return parsed


def parse_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def read_env_file(path: str | os.PathLike[str] | None | bool) -> dict[str, str]:
    """Values from the env file; a missing default file is fine, a missing chosen one is not.

    ``None`` means the default file; ``False`` means no file at all (tests).
    """
    if path is False:
        return {}
    if path is None:
        path = os.environ.get("FEDIKIT_ENV_FILE") or DEFAULT_ENV_FILE
        if not Path(path).exists():
            return {}
    if not Path(path).is_file():
        raise StartupError(f"--env-file: {path} does not exist")
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None | bool = None,
    plugin_defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge every source and derive the values the rest of core reads."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = dict(DEFAULTS)
    raw.update(plugin_defaults or {})
    raw.update(read_env_file(env_file))
    raw.update(environ)
    raw.update(overrides or {})
    return finish(raw)


def finish(raw: dict[str, Any]) -> dict[str, Any]:
    config = dict(raw)
    config["LOCAL_DOMAIN"] = str(config["LOCAL_DOMAIN"]).strip().lower()
    domain = config["LOCAL_DOMAIN"]
    if not domain or "/" in domain or "@" in domain:
        raise StartupError(f"LOCAL_DOMAIN: {domain!r} is not a host name")
    config.setdefault("WEB_DOMAIN", domain)
    config["WEB_DOMAIN"] = str(config["WEB_DOMAIN"] or domain).strip().lower()
    # Mastodon defaults LOCAL_HTTPS to true; the embedded localhost default is
    # for trying fedikit out on one machine, so there it defaults to plain http.
    config.setdefault("LOCAL_HTTPS", "false" if domain == DEFAULT_LOCAL_DOMAIN else "true")
    for key in BOOLEAN_KEYS:
        config[key] = parse_bool(key, config.get(key, "false"))
    for key in INTEGER_KEYS:
        try:
            config[key] = int(config[key])
        except (TypeError, ValueError):
            raise StartupError(f"{key}: expected a whole number, got {config[key]!r}") from None
        least = 0 if key in MAY_BE_ZERO else 1
        if config[key] < least:
            raise StartupError(f"{key}: must be at least {least}")
    for key in LIST_KEYS:
        config[key] = parse_list(config.get(key))
    config["REGISTRATIONS_MODE"] = str(config["REGISTRATIONS_MODE"]).strip().lower()
    if config["REGISTRATIONS_MODE"] not in REGISTRATIONS_MODES:
        raise StartupError(f"REGISTRATIONS_MODE: expected one of {', '.join(REGISTRATIONS_MODES)}")
    scheme = "https" if config["LOCAL_HTTPS"] else "http"
    config["BASE_URL"] = f"{scheme}://{config['WEB_DOMAIN']}"

    data_dir = Path(config["FEDIKIT_DATA_DIR"]).expanduser().resolve()
    config["FEDIKIT_DATA_DIR"] = data_dir
    config["SQLALCHEMY_DATABASE_URI"] = database_url(config, data_dir)
    redis_url = _redis_url(config)
    if redis_url:
        config["REDIS_URL"] = redis_url
    config["ALLOWED_PRIVATE_ADDRESSES"] = _networks(config["ALLOWED_PRIVATE_ADDRESSES"], "ALLOWED_PRIVATE_ADDRESSES")
    config["TRUSTED_PROXY_IP"] = _networks(config["TRUSTED_PROXY_IP"], "TRUSTED_PROXY_IP")
    return config


def database_url(config: Mapping[str, Any], data_dir: Path) -> str:
    """``DATABASE_URL``, else ``DB_*`` (PostgreSQL), else the embedded SQLite file."""
    url = config.get("DATABASE_URL")
    if url:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StartupError(f"DATABASE_URL: cannot parse {url!r}") from None
        backend = parsed.get_backend_name()
        if backend in ("postgres", "postgresql"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif backend != "sqlite":
            raise StartupError(f"DATABASE_URL: {backend!r} is not supported; use postgresql or sqlite")
        elif not parsed.database:
            raise StartupError("DATABASE_URL: a SQLite URL needs a file path")
        if backend != "sqlite" and not parsed.database:
            raise StartupError("DATABASE_URL: the URL names no database")
        return parsed.render_as_string(hide_password=False)
    if config.get("DB_HOST") or config.get("DB_NAME"):
        user = quote(str(config.get("DB_USER") or "postgres"), safe="")
        password = config.get("DB_PASS")
        auth = f"{user}:{quote(str(password), safe='')}" if password else user
        host = config.get("DB_HOST") or "localhost"
        port = config.get("DB_PORT") or "5432"
        if not str(port).isdigit():
            raise StartupError(f"DB_PORT: expected a port number, got {port!r}")
        name = config.get("DB_NAME") or "fedikit_production"
        return f"postgresql+psycopg://{auth}@{host}:{port}/{name}"
    return f"sqlite:///{data_dir / 'fedikit.sqlite3'}"


def _redis_url(config: Mapping[str, Any]) -> str | None:
    if config.get("REDIS_URL"):
        return str(config["REDIS_URL"])
    if not config.get("REDIS_HOST"):
        return None
    port = config.get("REDIS_PORT") or "6379"
    if not str(port).isdigit():
        raise StartupError(f"REDIS_PORT: expected a port number, got {port!r}")
    password = config.get("REDIS_PASSWORD")
    auth = f":{quote(str(password), safe='')}@" if password else ""
    return f"redis://{auth}{config['REDIS_HOST']}:{port}/{config.get('REDIS_DB') or 0}"


def _networks(value: Any, key: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if isinstance(value, list):
        return value
    networks = []
    for part in parse_list(value):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise StartupError(f"{key}: {part!r} is not an address or CIDR range") from None
    return networks


def secret_key(config: Mapping[str, Any]) -> str:
    """``SECRET_KEY_BASE``, or one made once and kept in the data folder."""
    if config.get("SECRET_KEY_BASE"):
        return str(config["SECRET_KEY_BASE"])
    data_dir: Path = config["FEDIKIT_DATA_DIR"]
    path = data_dir / "secret_key_base"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret-")  # mode 0600
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(64))
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
