"""``/.well-known/nodeinfo`` (where the document is) and ``/nodeinfo/2.0`` (the document), as Mastodon serves them.

Mastodon serves schema 2.0 only, and so does this plugin. Cross-origin
readers are allowed by core, which answers every ``/.well-known/`` and
``/nodeinfo/`` path with the API's CORS headers.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from flask import Blueprint, Response

from fedikit.core.services import instance
from fedikit.core.state import current

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"
CONTENT_TYPE = f'application/json; profile="{SCHEMA}#"'
SOFTWARE_NAME = "fedikit"  # the schema asks for [a-z0-9-]

bp = Blueprint("nodeinfo", __name__)


def _json(data: Any, content_type: str, max_age: int) -> Response:
    response = Response(json.dumps(data), content_type=content_type)
    response.headers["Cache-Control"] = f"max-age={max_age}, public"  # Mastodon's lifetimes
    return response


@bp.get("/.well-known/nodeinfo")
def discovery() -> Response:
    href = f"{current().config['BASE_URL']}/nodeinfo/2.0"
    return _json({"links": [{"rel": SCHEMA, "href": href}]}, "application/json", 3 * 86400)


@bp.get("/nodeinfo/2.0")
def document() -> Response:
    return _json(nodeinfo(), CONTENT_TYPE, 1800)


def nodeinfo() -> dict[str, Any]:
    """The NodeInfo 2.0 document."""
    return {
        "version": "2.0",
        "software": {"name": SOFTWARE_NAME, "version": version("fedikit")},
        "protocols": sorted({name for names in current().hook.protocols() for name in names or ()}),
        "services": {"outbound": [], "inbound": []},
        "usage": {
            "users": {
                "total": instance.user_count(),
                "activeMonth": instance.active_users(instance.ACTIVE_MONTH),
                "activeHalfyear": instance.active_users(instance.ACTIVE_HALFYEAR),
            },
            "localPosts": instance.local_status_count(),
        },
        "openRegistrations": instance.registrations_mode() != "none",
        "metadata": {"nodeName": instance.title(), "nodeDescription": instance.description()},
    }
