"""``/.well-known/nodeinfo`` (where the document is) and ``/nodeinfo/2.0`` (the document), as Mastodon serves them.

Schemas 2.0 (all Mastodon serves) and 2.1, both listed in the discovery
document, 2.0 first. Cross-origin
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

VERSIONS = ("2.0", "2.1")
SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"
CONTENT_TYPE = f'application/json; profile="{SCHEMA}#"'


def schema(schema_version: str) -> str:
    return f"http://nodeinfo.diaspora.software/ns/schema/{schema_version}"


SOFTWARE_NAME = "fedikit"  # the schema asks for [a-z0-9-]

bp = Blueprint("nodeinfo", __name__)


def _json(data: Any, content_type: str, max_age: int) -> Response:
    response = Response(json.dumps(data), content_type=content_type)
    response.headers["Cache-Control"] = f"max-age={max_age}, public"  # Mastodon's lifetimes
    return response


@bp.get("/.well-known/nodeinfo")
def discovery() -> Response:
    base = current().config["BASE_URL"]
    links = [{"rel": schema(v), "href": f"{base}/nodeinfo/{v}"} for v in VERSIONS]
    return _json({"links": links}, "application/json", 3 * 86400)


@bp.get("/nodeinfo/<any('2.0', '2.1'):schema_version>")
def document(schema_version: str) -> Response:
    return _json(nodeinfo(schema_version), f'application/json; profile="{schema(schema_version)}#"', 1800)


def nodeinfo(schema_version: str = "2.0") -> dict[str, Any]:
    """The NodeInfo document in schema 2.0 or 2.1 (2.1's optional ``software.repository``/``homepage``
    are left out: the package does not declare them)."""
    return {
        "version": schema_version,
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
