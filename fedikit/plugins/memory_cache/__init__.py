"""Expiring values and counters without services: in this process's memory, or in a file all processes share.

``memory`` (the embedded default) is the cache of a single web process.
``sqlite`` keeps them in ``cache.sqlite3`` in the data directory, shared by
every process of the instance on this machine; it is chosen when several web
processes run on embedded defaults (``WEB_CONCURRENCY`` > 1 without Redis).
"""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.CACHE, "memory", _memory, description="in-process, expiring values")
    registry.add(BackendKind.CACHE, "sqlite", _sqlite, description="expiring values in a file this machine shares")


def _memory(context: BackendContext) -> object:
    from fedikit.plugins.memory_cache.cache import MemoryCache

    return MemoryCache()


def _sqlite(context: BackendContext) -> object:
    from fedikit.plugins.memory_cache.sqlite import SQLiteCache

    return SQLiteCache(context.data_dir / "cache.sqlite3")
