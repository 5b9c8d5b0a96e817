"""The Mastodon client API (``/api/v1``, ``/api/v2``): one module per resource, one route table."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request


def register_api(app: Flask) -> None:
    from fedikit.core.api.routes import ROUTES

    bp = Blueprint("api", __name__)
    for rule, methods, view in ROUTES:
        module = view.__module__.removeprefix("fedikit.core.api.").replace(".", "_")
        endpoint = f"{module}_{view.__name__}"  # v1_statuses_show, v2_instance_show
        bp.add_url_rule(rule, endpoint, view, methods=methods, strict_slashes=False)

    app.register_blueprint(bp)
    app.after_request(_cors)


CORS_PATHS = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo/")


def _cors(response: Response) -> Response:
    """Browser clients on other origins may call the API with a bearer token (no cookies), as Mastodon allows."""
    if request.path.startswith(CORS_PATHS):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key, Accept"
        response.headers["Access-Control-Expose-Headers"] = (
            "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
        )
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
