"""The Mastodon client API (``/api/v1``, ``/api/v2``): one module per resource, one route table."""

from __future__ import annotations

from flask import Blueprint, Flask


def register_api(app: Flask) -> None:
    from fedikit.core.api.routes import ROUTES

    bp = Blueprint("api", __name__)
    for rule, methods, view in ROUTES:
        endpoint = f"{view.__module__.rsplit('.', 1)[-1]}_{view.__name__}"
        bp.add_url_rule(rule, endpoint, view, methods=methods, strict_slashes=False)

    app.register_blueprint(bp)
