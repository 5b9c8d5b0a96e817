"""NodeInfo 2.0: how other servers and statistics crawlers learn what software this is and who uses it."""

from __future__ import annotations

from flask import Blueprint

from fedikit.plugin_api import hookimpl


@hookimpl
def register_blueprints() -> list[Blueprint]:
    from fedikit.plugins.nodeinfo.views import bp

    return [bp]
