"""Signing in with a password stored (argon2) with the local user."""

from __future__ import annotations

import functools
import secrets

from fedikit.core.passwords import hash_password, verify_password
from fedikit.core.services.accounts import find_user
from fedikit.plugin_api import UserRecord, hookimpl


@functools.cache
def _dummy_hash() -> str:
    """Checked against when no user matches, so a wrong login takes as long as a wrong password."""
    return hash_password(secrets.token_hex(16))


@hookimpl(trylast=True)
def authenticate(identifier: str, password: str) -> UserRecord | None:
    user = find_user(identifier)
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    return user if verify_password(user.password_hash, password) else None
