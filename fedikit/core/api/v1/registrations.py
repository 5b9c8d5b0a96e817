"""POST /api/v1/accounts: signing up through an app, as Mastodon's registration API does.

Mastodon's order of refusals: no token 401, a token without ``write:accounts``
403, a user's token (not the app's own, from ``client_credentials``) 403,
registrations closed 403, bad input 422 with ``details``.
"""

from __future__ import annotations

from flask import abort, jsonify

from fedikit.core.api import params
from fedikit.core.api.auth import current_token, scoped
from fedikit.core.config import bool_word
from fedikit.core.services import registrations as service


@scoped("write:accounts", user=False)
def create():  # noqa: ANN201
    token = current_token()
    if token.user_id is not None or token.application is None:
        abort(403, "This method requires an client credentials authentication")  # sic: Mastodon's words
    made = service.sign_up(
        token.application,
        username=params.text("username") or "",
        email=params.text("email") or "",
        password=params.text("password") or "",
        agreement=bool_word(params.text("agreement")) is True,
        locale=params.text("locale"),
        reason=params.text("reason"),
    )
    return jsonify(
        {
            "access_token": made.access_token,
            "token_type": "Bearer",
            "scope": made.token.scopes,
            "created_at": int(made.token.created_at.timestamp()),
        }
    )
