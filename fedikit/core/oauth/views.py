"""/oauth/authorize (sign-in and consent pages), /oauth/token, /oauth/revoke and the server metadata."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from fedikit.core.oauth import scopes
from fedikit.core.oauth.server import GRANT_TYPES, OOB
from fedikit.core.state import current
from fedikit.core.web import check_csrf, csrf_token, signed_in_user

bp = Blueprint("oauth", __name__)


def _server() -> Any:
    return current_app.extensions["fedikit.oauth"]


@bp.route("/oauth/authorize", methods=["GET", "POST"], strict_slashes=False)
def authorize():  # noqa: ANN201
    user = signed_in_user()
    if user is None:
        return redirect(url_for("core.sign_in", next=request.full_path))
    server = _server()
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return render_template("oauth_error.html", error=error, domain=current().config["LOCAL_DOMAIN"]), 400
    if request.method == "GET":
        return render_template(
            "oauth_authorize.html",
            application=grant.client.application,
            scopes=scopes.parse(grant.request.payload.scope or "read"),
            user=user,
            csrf=csrf_token(),
            domain=current().config["LOCAL_DOMAIN"],
        )
    check_csrf()
    approved = request.form.get("decision") == "approve"
    response = server.create_authorization_response(grant=grant, grant_user=user if approved else None)
    redirect_uri = grant.request.payload.redirect_uri or grant.client.get_default_redirect_uri()
    if redirect_uri == OOB and approved:
        code = parse_qs(urlsplit(response.headers["Location"]).query).get("code", [""])[0]
        return render_template("oauth_code.html", code=code, domain=current().config["LOCAL_DOMAIN"])
    return response


@bp.post("/oauth/token", strict_slashes=False)
def token():  # noqa: ANN201
    return _server().create_token_response()


@bp.post("/oauth/revoke", strict_slashes=False)
def revoke():  # noqa: ANN201
    return _server().create_endpoint_response("revocation")


@bp.get("/.well-known/oauth-authorization-server")
def metadata():  # noqa: ANN201
    base = current().config["BASE_URL"]
    return jsonify(
        issuer=f"{base}/",
        service_documentation="https://docs.joinmastodon.org/",
        authorization_endpoint=f"{base}/oauth/authorize",
        token_endpoint=f"{base}/oauth/token",
        app_registration_endpoint=f"{base}/api/v1/apps",
        revocation_endpoint=f"{base}/oauth/revoke",
        scopes_supported=list(scopes.ALL),
        response_types_supported=["code"],
        response_modes_supported=["query", "fragment", "form_post"],
        code_challenge_methods_supported=["S256"],
        grant_types_supported=list(GRANT_TYPES),
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post", "none"],
    )
