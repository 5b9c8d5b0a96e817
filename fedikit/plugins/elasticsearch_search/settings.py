"""Mastodon's ``ES_*`` settings, read and checked without importing the Elasticsearch client."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fedikit.plugin_api import StartupError

DEFAULT_PORT = 9200
# Mastodon's presets; they set how many shards and replicas a new index gets.
PRESETS: dict[str, tuple[int, int]] = {
    "single_node_cluster": (1, 0),  # one node cannot hold a replica: with one the cluster stays yellow
    "small_cluster": (1, 1),
    "large_cluster": (3, 1),
}
DEFAULT_PRESET = "single_node_cluster"
# Elasticsearch index names: lowercase, no spaces or \/*?"<>|,#: and not starting with -_+.
PREFIX_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "t"})


@dataclasses.dataclass(frozen=True)
class ElasticsearchSettings:
    url: str
    user: str | None
    password: str | None
    prefix: str
    shards: int
    replicas: int
    refresh: bool
    """Make every write visible to search at once (``ES_REFRESH``): slow, for tests only."""

    def index_name(self, kind: str) -> str:
        """Mastodon's naming: ``<prefix>_statuses``, or plain ``statuses`` without a prefix."""
        return f"{self.prefix}_{kind}" if self.prefix else kind

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ElasticsearchSettings:
        """Read ``ES_HOST`` (``host``, ``host:port`` or a URL), ``ES_PORT``, ``ES_USER``/``ES_PASS``, ``ES_PREFIX``.

        ``ES_PREFIX`` defaults to ``REDIS_NAMESPACE``, as in Mastodon, so two
        instances sharing a cluster keep apart when they already keep apart in
        Redis.
        """
        try:
            port = int(config.get("ES_PORT") or DEFAULT_PORT)
        except (TypeError, ValueError):
            raise StartupError(f"ES_PORT: expected a port number, got {config.get('ES_PORT')!r}") from None
        if not 0 < port < 65536:
            raise StartupError(f"ES_PORT: expected a port number, got {port}")
        url = _url(str(config.get("ES_HOST") or "localhost").strip(), port)
        user = str(config.get("ES_USER") or "") or None
        password = str(config.get("ES_PASS") or "") or None
        if (user is None) != (password is None):
            raise StartupError("ES_USER and ES_PASS: set both (basic authentication) or neither")
        prefix = str(config.get("ES_PREFIX") or config.get("REDIS_NAMESPACE") or "").strip()
        if prefix and not PREFIX_RE.fullmatch(prefix):
            raise StartupError(
                f"ES_PREFIX: {prefix!r} cannot start an Elasticsearch index name "
                "(lowercase letters, digits, '_', '-' and '.', not starting with '_', '-' or '.')"
            )
        preset = str(config.get("ES_PRESET") or DEFAULT_PRESET).strip()
        if preset not in PRESETS:
            raise StartupError(f"ES_PRESET: expected one of {', '.join(PRESETS)}, got {preset!r}")
        shards, replicas = PRESETS[preset]
        refresh = str(config.get("ES_REFRESH") or "").strip().lower() in TRUE_WORDS
        return cls(url, user, password, prefix, shards, replicas, refresh)


def _url(host: str, port: int) -> str:
    """``http://host:port`` from what an admin may write in ``ES_HOST``; ``ES_PORT`` fills in a missing port."""
    parts = urlsplit(host if "://" in host else f"http://{host}")
    if parts.scheme not in ("http", "https"):
        raise StartupError(f"ES_HOST: expected http:// or https://, got {host!r}")
    if parts.username or parts.password:
        raise StartupError("ES_HOST: put the user name and password in ES_USER and ES_PASS, not in the URL")
    if parts.query or parts.fragment or parts.path.strip("/"):
        raise StartupError(f"ES_HOST: expected a host name and maybe a port, got {host!r}")
    try:
        explicit_port = parts.port
    except ValueError:
        raise StartupError(f"ES_HOST: bad port in {host!r}") from None
    if not parts.hostname:
        raise StartupError(f"ES_HOST: no host name in {host!r}")
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{hostname}:{explicit_port or port}"
