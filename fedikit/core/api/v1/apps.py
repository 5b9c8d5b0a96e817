"""POST /api/v1/apps, GET /api/v1/apps/verify_credentials."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import abort, jsonify

from fedikit.core.api import params
from fedikit.core.api.auth import current_token, scoped
from fedikit.core.db import db
from fedikit.core.models import Application
from fedikit.core.oauth import scopes as scope_rules
from fedikit.core.oauth.server import OOB


def _entity(app: Application, *, credentials: bool) -> dict[str, Any]:
    uris = app.redirect_uris.split()
    data: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": scope_rules.parse(app.scopes),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if credentials:
        data.update(client_id=app.client_id, client_secret=app.client_secret, client_secret_expires_at=0)
    return data


def create():  # noqa: ANN201
    name = (params.text("client_name") or "").strip()
    if not name:
        abort(422, "Validation failed: Application name can't be blank")
    if len(name) > 60:
        abort(422, "Validation failed: Application name is too long (maximum is 60 characters)")
    uris = params.array("redirect_uris")
    if len(uris) == 1:
        uris = uris[0].split()
    if not uris:
        abort(422, "Validation failed: Redirect URI can't be blank")
    for uri in uris:
        parts = urlsplit(uri)
        if uri != OOB and (
            not parts.scheme or parts.fragment or (parts.scheme in ("http", "https") and not parts.netloc)
        ):
            abort(422, f"Validation failed: Redirect URI {uri!r} must be an absolute URI")
    requested = scope_rules.parse(params.text("scopes") or "read")
    bad = scope_rules.unknown(requested)
    if bad:
        abort(422, f"Validation failed: Scopes {' '.join(bad)} are not valid")
    website = params.text("website") or None
    app = Application(
        name=name,
        website=website,
        redirect_uris="\n".join(uris),
        scopes=" ".join(requested),
        client_id=secrets.token_urlsafe(32),
        client_secret=secrets.token_urlsafe(32),
    )
    db.session.add(app)
    db.session.commit()
    return jsonify(_entity(app, credentials=True))


@scoped(user=False)
def verify_credentials():  # noqa: ANN201
    token = current_token()
    if token.application is None:
        abort(401, "The access token is invalid")
    return jsonify(_entity(token.application, credentials=False))
