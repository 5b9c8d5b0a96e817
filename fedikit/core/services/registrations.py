"""Signing up through an app, as Mastodon's ``POST /api/v1/accounts`` does.

``REGISTRATIONS_MODE`` decides: ``none`` takes nobody (Forbidden); ``open``
makes an account that can be used at once; ``approved`` makes one that waits
for an admin (``fedikit accounts modify NAME --approve``) before it can sign
in or use its token.

fedikit sends no e-mail yet, so the address is taken as given (the account
is confirmed at once) instead of being confirmed through a link as Mastodon
asks. The ``reason`` a person gives is checked but not kept: nothing stores
or shows it yet.
"""

from __future__ import annotations

import dataclasses
import re

from fedikit.core.db import db
from fedikit.core.errors import FieldError, Forbidden, ValidationError
from fedikit.core.models import AccessToken, Application, User
from fedikit.core.oauth import scopes, tokens
from fedikit.core.services.accounts import account_problems, create_local_account
from fedikit.core.services.instance import registrations_mode

REASON_MAX = 420  # Mastodon's limit on the text of an invite request
LOCALE_MAX = 16  # the column's width
LOCALE_RE = re.compile(r"\A[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*\Z", re.IGNORECASE)  # en, pt-BR, zh-Hant...


@dataclasses.dataclass(frozen=True)
class SignUp:
    user: User
    token: AccessToken
    access_token: str  # the secret; only its digest is stored


def sign_up(
    application: Application,
    *,
    username: str,
    email: str,
    password: str,
    agreement: bool,
    locale: str | None = None,
    reason: str | None = None,
) -> SignUp:
    """A new local user made through ``application``, with a token of the app's scopes for them.

    Raises Forbidden when registrations are closed, and a ValidationError
    listing every problem (Mastodon's ``details``) when the input is wrong;
    nothing is stored then.
    """
    mode = registrations_mode()
    if mode == "none":
        raise Forbidden("This action is not allowed")
    problems = account_problems(username, email, password)
    if not agreement:
        problems.append(FieldError("agreement", "ERR_ACCEPTED", "must be accepted"))
    if locale and (len(locale) > LOCALE_MAX or not LOCALE_RE.match(locale)):
        problems.append(FieldError("locale", "ERR_INCLUSION", "is not included in the list"))
    if reason and len(reason) > REASON_MAX:
        problems.append(FieldError("reason", "ERR_TOO_LONG", f"is too long (maximum is {REASON_MAX} characters)"))
    if problems:
        raise ValidationError.of(problems)
    try:
        user = create_local_account(
            username, email, password, confirmed=True, approved=mode == "open", locale=locale or None
        )
    except ValidationError as exc:  # lost a race for the name or address
        raise ValidationError.of(exc.fields) if exc.fields else exc from None
    secret = tokens.new_secret()
    token = tokens.store(application, user, scopes.parse(application.scopes), secret, None)
    db.session.commit()
    return SignUp(user, token, secret)
