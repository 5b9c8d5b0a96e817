"""Publish/subscribe within one process, for the streaming API on a single web process."""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.STREAMING, "memory", _build, description="in-process pub/sub")


def _build(context: BackendContext) -> object:
    from fedikit.plugins.memory_pubsub.pubsub import MemoryPubSub

    return MemoryPubSub()
