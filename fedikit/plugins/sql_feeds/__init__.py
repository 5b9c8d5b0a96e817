"""Home and list feeds computed from SQL when read: no fan-out, nothing to keep in sync."""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.FEEDS, "sql", _build, description="feeds computed from SQL on read")


def _build(context: BackendContext) -> object:
    from fedikit.plugins.sql_feeds.store import SqlFeedStore

    return SqlFeedStore()
