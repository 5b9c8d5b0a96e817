"""The Mastodon client API (``/api/v1``, ``/api/v2``): one module per resource, one route table."""

from __future__ import annotations

from flask import Blueprint, Flask


def register_api(app: Flask) -> None:
    from fedikit.core.api.routes import ROUTES

    bp = Blueprint("api", __name__)
    for rule, methods, view in ROUTES:
        module = view.__module__.removeprefix("fedikit.core.api.").replace(".", "_")
        endpoint = f"{module}_{view.__name__}"  # v1_statuses_show, v2_instance_show
        bp.add_url_rule(rule, endpoint, view, methods=methods, strict_slashes=False)

    app.register_blueprint(bp)
