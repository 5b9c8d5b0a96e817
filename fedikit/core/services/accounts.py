"""Creating, finding and changing accounts."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from fedikit.core import jobs
from fedikit.core.content import render
from fedikit.core.db import db, utcnow
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, Role, User
from fedikit.core.passwords import hash_password
from fedikit.core.state import current

USERNAME_RE = re.compile(r"\A[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?\Z", re.IGNORECASE)
USERNAME_MAX = 30
EMAIL_MAX = 320
# One @, no characters that mail servers read differently from us.
EMAIL_RE = re.compile(
    r"\A[^@\s%,\"<>()\[\]\\;:]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\Z", re.IGNORECASE
)
RESERVED_USERNAMES = {
    "admin",
    "support",
    "help",
    "root",
    "webmaster",
    "administrator",
    "mod",
    "moderator",
    "postmaster",
}


def local_uris(username: str) -> dict[str, str]:
    base = current().config["BASE_URL"]
    return {"uri": f"{base}/users/{username}", "url": f"{base}/@{username}"}


def create_local_account(
    username: str,
    email: str,
    password: str,
    *,
    role: Role | str = Role.USER,
    confirmed: bool = False,
    reserved_ok: bool = False,
) -> User:
    """A local account and its user. ``reserved_ok`` lets an admin take names like ``admin``."""
    if not USERNAME_RE.match(username) or len(username) > USERNAME_MAX:
        raise ValidationError(f"username {username!r} must be 1-{USERNAME_MAX} letters, digits, _ . or -")
    if username.lower() in RESERVED_USERNAMES and not reserved_ok:
        raise ValidationError(f"username {username!r} is reserved")
    email = email.strip()
    if len(email) > EMAIL_MAX or not EMAIL_RE.match(email):
        raise ValidationError(f"e-mail address {email!r} is not valid")
    if len(password) < 8:
        raise ValidationError("password must be at least 8 characters")
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    if find_local(username) is not None:
        raise ValidationError(f"username {username!r} is taken")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise ValidationError(f"e-mail address {email!r} is taken")
    account = Account(username=username, domain=None, **local_uris(username))
    user = User(
        account=account,
        email=email.lower(),
        password_hash=hash_password(password),
        role=role.value,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add_all([account, user])
    db.session.commit()
    jobs.enqueue("core.index_account", account_id=account.id)
    return user


def find_local(username: str) -> Account | None:
    return db.session.scalar(
        select(Account).where(func.lower(Account.username) == username.lower(), Account.domain.is_(None))
    )


def find_user(identifier: str) -> User | None:
    """A local user by e-mail address or username."""
    identifier = identifier.strip().lstrip("@")
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    account = find_local(identifier)
    return account.user if account is not None else None


def find_by_acct(acct: str) -> Account | None:
    """A stored account by ``user`` or ``user@domain``; the local domain counts as local."""
    username, _, domain = acct.strip().lstrip("@").partition("@")
    domain = domain.lower()
    if not domain or domain in (current().config["LOCAL_DOMAIN"], current().config["WEB_DOMAIN"]):
        return find_local(username)
    return db.session.scalar(
        select(Account).where(func.lower(Account.username) == username.lower(), Account.domain == domain)
    )


def resolve(acct: str) -> Account | None:
    """A stored account, else whatever a protocol plugin can fetch (``resolve_account``)."""
    found = find_by_acct(acct)
    if found is not None:
        return found
    username, _, domain = acct.strip().lstrip("@").partition("@")
    if not domain:
        return None
    return current().hook.resolve_account(acct=f"{username}@{domain.lower()}")


PROFILE_FIELDS = ("display_name", "note", "locked", "bot", "discoverable", "indexable", "fields")
MAX_FIELDS = 4


def update_profile(account: Account, **changes: Any) -> Account:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(f"unknown profile fields: {', '.join(sorted(unknown))}")
    if "display_name" in changes and len(changes["display_name"]) > 30:
        raise ValidationError("display_name is longer than 30 characters")
    if "note" in changes:
        note = changes.pop("note")
        if len(note) > 500:
            raise ValidationError("note is longer than 500 characters")
        account.note_source = note
        account.note = render(account, note).html
    if "fields" in changes:
        fields = changes.pop("fields")
        if len(fields) > MAX_FIELDS:
            raise ValidationError(f"at most {MAX_FIELDS} profile fields")
        account.fields = [{"name": str(f["name"])[:255], "value": str(f["value"])[:255]} for f in fields]
    for key, value in changes.items():
        setattr(account, key, value)
    db.session.commit()
    jobs.enqueue("core.index_account", account_id=account.id)
    current().emit("account_updated", account=account)
    return account


def sign_in_refusal(user: User) -> str | None:
    """Why ``user`` may not sign in (or get a token) right now; None when they may."""
    if user.disabled:
        return "Your login is currently disabled."
    if user.account.suspended_at is not None:
        return "Your account has been suspended."
    if user.confirmed_at is None:
        return "You have to confirm your e-mail address before continuing."
    if not user.approved:
        return "Your account is still waiting for approval."
    return None


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise ValidationError("password must be at least 8 characters")
    user.password_hash = hash_password(password)
    db.session.commit()
