"""Expiring values and counters in Redis, shared by every web process: Mastodon's cache Redis.

Chosen when ``CACHE_REDIS_URL`` (a Redis of its own, as Mastodon advises:
no persistence, evicting least recently used keys) or ``REDIS_URL`` is set,
or with ``CACHE_BACKEND=redis``. Keys are prefixed with ``REDIS_NAMESPACE``
(default ``fedikit``) and ``cache:``.
"""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, StartupError, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.CACHE, "redis", _build, description="Redis (CACHE_REDIS_URL, else REDIS_URL)")


def _build(context: BackendContext) -> object:
    url = context.config.get("CACHE_REDIS_URL") or context.config.get("REDIS_URL")
    if not url:
        raise StartupError("CACHE_BACKEND=redis needs CACHE_REDIS_URL or REDIS_URL")
    from fedikit.plugins.redis_cache.cache import RedisCache

    return RedisCache(str(url), namespace=str(context.config.get("REDIS_NAMESPACE") or "fedikit"))
