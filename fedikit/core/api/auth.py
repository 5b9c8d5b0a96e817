"""Who is calling: bearer tokens, scopes, and the ``scoped`` decorator every endpoint uses.

Mastodon's answers: no or bad token where one is needed, 401; a token
without the needed scope, 403; an app-only token where a user is needed, 422.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import abort, request

from fedikit.core.db import db, utcnow
from fedikit.core.models import AccessToken, Account, User
from fedikit.core.oauth import scopes as scope_rules
from fedikit.core.oauth import tokens
from fedikit.core.services.accounts import Refusal, refusal

LAST_USED_PRECISION = dt.timedelta(hours=1)


def _token() -> AccessToken | None:
    if hasattr(request, "fedikit_token"):  # per request: an app context can outlive several requests
        return request.fedikit_token
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    token = None
    if scheme.lower() == "bearer" and secret.strip():
        token = tokens.find(secret.strip())
        if token is None:
            abort(401, "The access token is invalid")
        if token.user_id is not None:
            user = token.user
            if user is None:
                abort(401, "The access token is invalid")
            reason = refusal(user)
            if reason is not None:
                abort(403, API_REFUSALS[reason])
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            from fedikit.core.services import timelines

            back = token.user is not None and timelines.returning(token.user)  # idle until now: fan-out skipped them
            token.last_used_at = now  # written at most hourly: reads stay reads
            db.session.commit()
            if back:
                timelines.rebuild_home(token.user.account)
    request.fedikit_token = token
    return token


# Mastodon's answers (403) to a valid token whose user may not use the API now.
API_REFUSALS = {
    Refusal.DISABLED: "Your login is currently disabled",
    Refusal.SUSPENDED: "Your login is currently disabled",
    Refusal.UNCONFIRMED: "Your login is missing a confirmed e-mail address",
    Refusal.PENDING: "Your login is currently pending approval",
}


def current_token() -> AccessToken | None:
    return _token()


def current_user() -> User | None:
    token = _token()
    return token.user if token is not None else None


def current_account() -> Account | None:
    user = current_user()
    return user.account if user is not None else None


def scoped(*needed: str, user: bool = True, public: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a token holding any of ``needed`` (``read:statuses`` is satisfied by ``read``...).

    ``user=True``: the token must belong to a user (not only an app).
    ``public=True``: anonymous callers are let through (the view sees no account);
    a token, if one is sent, must still be valid and hold the scope.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _token()
            if token is None:
                if public:
                    return view(*args, **kwargs)
                abort(401, "The access token is invalid")
            held = scope_rules.parse(token.scopes)
            if needed and not any(scope_rules.granted(held, scope) for scope in needed):
                abort(403, "This action is outside the authorized scopes")
            if user and token.user_id is None and not public:
                abort(422, "This method requires an authenticated user")
            return view(*args, **kwargs)

        wrapper.fedikit_scopes = needed  # type: ignore[attr-defined]
        return wrapper

    return decorate
