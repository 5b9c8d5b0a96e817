"""Publish/subscribe without services: within one process, or among the processes of one machine.

``memory`` (the embedded default) reaches the subscribers of its own process
only. ``sockets`` reaches every process of the instance on this machine over
Unix datagram sockets in the data directory; it is chosen when several web
processes run on embedded defaults (``WEB_CONCURRENCY`` > 1 without Redis).
"""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.STREAMING, "memory", _memory, description="in-process pub/sub")
    registry.add(
        BackendKind.STREAMING, "sockets", _sockets, description="pub/sub among this machine's processes (Unix sockets)"
    )


def _memory(context: BackendContext) -> object:
    from fedikit.plugins.memory_pubsub.pubsub import MemoryPubSub

    return MemoryPubSub()


def _sockets(context: BackendContext) -> object:
    from fedikit.plugins.memory_pubsub.sockets import SocketPubSub

    return SocketPubSub(context.data_dir / "streaming")
