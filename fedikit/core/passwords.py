"""Password hashing (argon2id)."""

from __future__ import annotations

import os
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's low-memory profile, argon2-cffi's default. FEDIKIT_TEST_FAST_HASHES=1 (the test suite sets it)
# picks the cheapest parameters instead: hashes made either way verify either way.
_hasher = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if os.environ.get("FEDIKIT_TEST_FAST_HASHES") == "1"
    else PasswordHasher()
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A password to print once, as ``tootctl accounts create`` does."""
    return secrets.token_hex(16)
