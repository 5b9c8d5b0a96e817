"""Issuing and looking up access tokens. Only SHA-256 digests are stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from fedikit.core.db import db, utcnow
from fedikit.core.models import AccessToken, Application, User


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def store(
    application: Application | None, user: User | None, scopes: list[str], access: str, refresh: str | None
) -> AccessToken:
    """Add a token row for these secrets to the session (the secrets themselves are not kept)."""
    token = AccessToken(
        application_id=application.id if application else None,
        user_id=user.id if user else None,
        token_digest=digest(access),
        refresh_token_digest=digest(refresh) if refresh else None,
        scopes=" ".join(scopes),
    )
    db.session.add(token)
    db.session.flush()
    return token


_BY_DIGEST = (  # built once: every request runs it
    select(AccessToken)
    .where(AccessToken.token_digest == bindparam("digest"))
    .options(joinedload(AccessToken.user).joinedload(User.account))  # every request needs all three
)


def find(access: str) -> AccessToken | None:
    """The live token with this secret: not revoked, not expired."""
    token = db.session.scalar(_BY_DIGEST, {"digest": digest(access)})
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    if token.user is not None:  # the account knows its user (no query for ``viewer.user`` later)
        set_committed_value(token.user.account, "user", token.user)
    return token


def find_by_refresh(refresh: str) -> AccessToken | None:
    token = db.session.scalar(select(AccessToken).where(AccessToken.refresh_token_digest == digest(refresh)))
    return None if token is None or token.revoked_at is not None else token
