"""Publish/subscribe on Redis for the streaming API across web processes and machines.

Chosen when ``REDIS_URL`` is set (or ``STREAMING_BACKEND=redis``). Every
channel name is prefixed with ``REDIS_NAMESPACE`` (default ``fedikit``).
Each process keeps one Redis connection for subscribing, whatever the
number of open streams, and one pool for publishing.
"""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.STREAMING, "redis", _build, description="Redis pub/sub (REDIS_URL)")


def _build(context: BackendContext) -> object:
    from fedikit.plugins.redis_pubsub.pubsub import RedisPubSub

    url = context.config.get("REDIS_URL")
    if not url:
        from fedikit.plugin_api import StartupError

        raise StartupError("STREAMING_BACKEND=redis needs REDIS_URL (or REDIS_HOST)")
    return RedisPubSub(str(url), namespace=str(context.config.get("REDIS_NAMESPACE") or "fedikit"))
