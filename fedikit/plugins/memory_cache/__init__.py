"""Expiring values and counters in this process's memory: the cache of a single web process."""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.CACHE, "memory", _build, description="in-process, expiring values")


def _build(context: BackendContext) -> object:
    from fedikit.plugins.memory_cache.cache import MemoryCache

    return MemoryCache()
