"""Home and list feeds kept in Redis sorted sets, filled by core's fan-out on write.

Chosen when ``REDIS_URL`` is set (or ``FEEDS_BACKEND=redis``). Every key is
prefixed with ``REDIS_NAMESPACE`` (default ``fedikit``). A feed holds at most
``FEED_MAX_ITEMS`` ids (default 400, as Mastodon's): paging further back
ends there, as it does in Mastodon's home feed. Redis failures reach the
API as 503 (``FeedsUnavailable``), never as an empty feed.
"""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.FEEDS, "redis", _build, description="Redis sorted sets, fan-out on write (REDIS_URL)")


def _build(context: BackendContext) -> object:
    url = context.config.get("REDIS_URL")
    if not url:
        from fedikit.plugin_api import StartupError

        raise StartupError("FEEDS_BACKEND=redis needs REDIS_URL (or REDIS_HOST)")
    from fedikit.plugins.redis_feeds.store import RedisFeedStore

    return RedisFeedStore(
        str(url),
        namespace=str(context.config.get("REDIS_NAMESPACE") or "fedikit"),
        max_items=int(context.config.get("FEED_MAX_ITEMS") or 400),
    )
