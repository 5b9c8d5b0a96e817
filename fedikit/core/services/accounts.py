"""Creating, finding and changing accounts."""

from __future__ import annotations

import enum
import re
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from fedikit.core import jobs
from fedikit.core.content import render
from fedikit.core.db import commit_unless_duplicate, db, utcnow
from fedikit.core.errors import FedikitError, FieldError, ValidationError
from fedikit.core.models import Account, Role, User
from fedikit.core.passwords import hash_password
from fedikit.core.sanitize import sanitize_html
from fedikit.core.services import domain_blocks
from fedikit.core.services.media import (
    PROFILE_IMAGES,
    process_profile_image,
    save_profile_images,
    unset_profile_images,
)
from fedikit.core.state import current

USERNAME_RE = re.compile(r"\A[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?\Z", re.IGNORECASE)
USERNAME_MAX = 30
EMAIL_MAX = 320
# One @, no characters that mail servers read differently from us.
EMAIL_RE = re.compile(
    r"\A[^@\s%,\"<>()\[\]\\;:]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\Z", re.IGNORECASE
)
USERNAME_RULE = "must contain only letters, numbers and _ . -, and begin and end with a letter, number or _"
PASSWORD_MIN = 8
PASSWORD_MAX = 72  # Mastodon's limit; it also bounds the work of hashing
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


def account_problems(username: str, email: str, password: str, *, reserved_ok: bool = False) -> list[FieldError]:
    """Everything wrong with these details for a new local account, field by field (none: all fine)."""
    problems: list[FieldError] = []

    def problem(field: str, code: str, description: str, sentence: str) -> None:
        problems.append(FieldError(field, code, description, sentence))

    def too_long(limit: int) -> str:
        return f"is too long (maximum is {limit} characters)"

    shape = f"username {username!r} must be 1-{USERNAME_MAX} letters, digits, _ . or -"
    if not username:
        problem("username", "ERR_BLANK", "can't be blank", shape)
    elif len(username) > USERNAME_MAX:
        problem("username", "ERR_TOO_LONG", too_long(USERNAME_MAX), shape)
    elif not USERNAME_RE.match(username):
        problem("username", "ERR_INVALID", USERNAME_RULE, shape)
    # The instance's own name is its actor's (Mastodon's instance actor): nobody may take it.
    elif (username.lower() in RESERVED_USERNAMES and not reserved_ok) or is_local_domain(username):
        problem("username", "ERR_RESERVED", "is reserved", f"username {username!r} is reserved")
    elif find_local(username) is not None:
        problem("username", "ERR_TAKEN", "has already been taken", f"username {username!r} is taken")

    email = email.strip()
    invalid = f"e-mail address {email!r} is not valid"
    if not email:
        problem("email", "ERR_BLANK", "can't be blank", invalid)
    elif len(email) > EMAIL_MAX:
        problem("email", "ERR_TOO_LONG", too_long(EMAIL_MAX), invalid)
    elif not EMAIL_RE.match(email):
        problem("email", "ERR_INVALID", "is invalid", invalid)
    elif db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        problem("email", "ERR_TAKEN", "has already been taken", f"e-mail address {email!r} is taken")

    length = f"password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
    if not password:
        problem("password", "ERR_BLANK", "can't be blank", length)
    elif len(password) < PASSWORD_MIN:
        problem("password", "ERR_TOO_SHORT", f"is too short (minimum is {PASSWORD_MIN} characters)", length)
    elif len(password) > PASSWORD_MAX:
        problem("password", "ERR_TOO_LONG", too_long(PASSWORD_MAX), length)
    return problems


def create_local_account(
    username: str,
    email: str,
    password: str,
    *,
    role: Role | str = Role.USER,
    confirmed: bool = False,
    approved: bool = True,
    locale: str | None = None,
    reserved_ok: bool = False,
) -> User:
    """A local account and its user. ``reserved_ok`` lets an admin take names like ``admin``.

    ``approved=False``: the user may not sign in until an admin approves them.
    Bad details: a ValidationError saying the first problem, with every
    problem in its ``fields``.
    """
    problems = account_problems(username, email, password, reserved_ok=reserved_ok)
    if problems:
        raise ValidationError(str(problems[0]), fields=problems)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    account = Account(username=username, domain=None, **local_uris(username))
    user = User(
        account=account,
        email=email.strip().lower(),
        password_hash=hash_password(password),
        role=role.value,
        confirmed_at=utcnow() if confirmed else None,
        approved=approved,
        locale=locale,
    )
    db.session.add_all([account, user])
    try:
        db.session.commit()
    except IntegrityError:  # the name or address was taken by a concurrent request
        db.session.rollback()
        problems = account_problems(username, email, password, reserved_ok=reserved_ok)
        if not problems:
            raise
        raise ValidationError(str(problems[0]), fields=problems) from None
    jobs.enqueue("core.index_account", account_id=account.id)
    return user


_LOCAL_BY_NAME = select(Account).where(  # built once: every mention and sign-in looks one up
    func.lower(Account.username) == bindparam("lowered"), Account.domain.is_(None)
)


def find_local(username: str) -> Account | None:
    return db.session.scalar(_LOCAL_BY_NAME, {"lowered": username.lower()})


def find_user(identifier: str) -> User | None:
    """A local user by e-mail address or username."""
    identifier = identifier.strip().lstrip("@")
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    account = find_local(identifier)
    return account.user if account is not None else None


def is_local_domain(domain: str) -> bool:
    """True for "" and this instance's own domains (``LOCAL_DOMAIN``, ``WEB_DOMAIN``), in any case."""
    return not domain or domain.lower() in (current().config["LOCAL_DOMAIN"], current().config["WEB_DOMAIN"])


def find_by_acct(acct: str) -> Account | None:
    """A stored account by ``user`` or ``user@domain``; the local domain counts as local."""
    username, _, domain = acct.strip().lstrip("@").partition("@")
    domain = domain.lower()
    if is_local_domain(domain):
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


def find_by_uri(uri: str) -> Account | None:
    """A stored account (local or remote) by its protocol id, e.g. an ActivityPub actor URL."""
    return db.session.scalar(_BY_URI, {"uri": uri})


_BY_URI = select(Account).where(Account.uri == bindparam("uri"))  # built once: every received activity asks


# What a protocol plugin may set on a remote account; everything else is core's.
REMOTE_PROFILE_FIELDS = frozenset(
    {
        "username",
        "display_name",
        "note",
        "fields",
        "locked",
        "bot",
        "group",
        "discoverable",
        "indexable",
        "memorial",
        "url",
        "inbox_url",
        "shared_inbox_url",
        "outbox_url",
        "followers_url",
        "featured_url",
        "public_key",
        "avatar_remote_url",
        "header_remote_url",
        "also_known_as",
    }
)


def store_remote(uri: str, domain: str, **profile: Any) -> Account:
    """Create or refresh the remote account ``uri`` on ``domain`` from what its server says of it.

    Called by protocol plugins after they fetched and checked a profile. The
    bio and profile field values are HTML and pass the one sanitiser here.
    An account whose ``username@domain`` is taken by another ``uri`` is a
    ValidationError: the plugin decides whether the old one is gone. So is
    one on a domain the admin suspended; one on a silenced domain starts
    silenced (see :mod:`.domain_blocks`).
    """
    unknown = set(profile) - REMOTE_PROFILE_FIELDS
    if unknown:
        raise ValidationError(f"unknown profile fields: {', '.join(sorted(unknown))}")
    domain = domain.lower()
    if is_local_domain(domain):
        raise ValidationError(f"{domain} is this instance: its accounts are not remote")
    policy = domain_blocks.policy(domain)
    if policy.suspended:
        raise ValidationError(f"{domain} is suspended by this instance")
    if "note" in profile:
        profile["note"] = sanitize_html(profile["note"] or "")
    if "fields" in profile:
        profile["fields"] = [
            {"name": str(f["name"])[:255], "value": sanitize_html(str(f["value"]))[:2047]} for f in profile["fields"]
        ]
    account = find_by_uri(uri)
    created = account is None
    if account is None:
        account = Account(uri=uri, domain=domain, username=profile.get("username", ""))
        account.silenced_at = utcnow() if policy.silenced else None
        db.session.add(account)
    elif account.domain != domain:
        raise ValidationError(f"{uri} belongs to {account.domain}, not {domain}")
    # A new avatar or header URL: the copy kept of the old image is no longer the account's.
    replaced = [
        k
        for k in PROFILE_IMAGES
        if f"{k}_remote_url" in profile and profile[f"{k}_remote_url"] != getattr(account, f"{k}_remote_url")
    ]
    unset_profile_images(account, replaced)
    for key, value in profile.items():
        setattr(account, key, value)
    account.fetched_at = utcnow()
    if not commit_unless_duplicate():
        if created and find_by_uri(uri) is not None:  # a concurrent fetch stored it first: refresh that one
            return store_remote(uri, domain, **profile)
        taken = f"{profile.get('username')}@{domain}"
        raise ValidationError(f"{taken} is already the name of another account")
    jobs.enqueue("core.index_account", account_id=account.id)
    if not created:
        current().emit("account_updated", account=account)
    return account


PROFILE_FIELDS = ("display_name", "note", "locked", "bot", "discoverable", "indexable", "fields", *PROFILE_IMAGES)
MAX_FIELDS = 4


def update_profile(account: Account, **changes: Any) -> Account:
    """Change what others see of ``account``; all or nothing (a ValidationError stores none of it).

    ``avatar`` and ``header`` are uploaded files (streams), or None to remove
    the image; see :func:`~fedikit.core.services.media.process_profile_image`.
    """
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
    images = {kind: changes.pop(kind) for kind in PROFILE_IMAGES if kind in changes}
    processed = {kind: process_profile_image(kind, f) if f is not None else None for kind, f in images.items()}
    for key, value in changes.items():
        setattr(account, key, value)
    if processed:
        save_profile_images(account, processed)  # stores the files, then commits
    else:
        db.session.commit()
    jobs.enqueue("core.index_account", account_id=account.id)
    current().emit("account_updated", account=account)
    return account


def add_alias(account: Account, other: Account) -> None:
    """Say that ``other`` is also ``account`` (``alsoKnownAs``): the first step of moving from ``other``."""
    if other.id == account.id:
        raise ValidationError("Validation failed: an account cannot be an alias of itself")
    if other.uri not in account.also_known_as:
        account.also_known_as = [*account.also_known_as, other.uri]  # a new list: JSON columns see assignments
        db.session.commit()
        current().emit("account_updated", account=account)


def move(account: Account, target: Account) -> None:
    """``account`` has moved to ``target``: its local followers follow ``target`` instead.

    ``target`` must name ``account`` among its aliases (``also_known_as``), as
    Mastodon requires, so nobody can move someone else's followers. For a
    local ``account`` the ``account_moved`` event tells other servers; for a
    remote one this is what its server's Move asks of us.
    """
    from fedikit.core.models import Follow
    from fedikit.core.services import relationships

    if target.id == account.id or target.moved_to_account_id is not None:
        raise ValidationError("Validation failed: that account cannot be moved to")
    if account.uri not in (target.also_known_as or []):
        raise ValidationError(f"Validation failed: {target.acct} does not list {account.acct} as an alias")
    account.moved_to_account_id = target.id
    db.session.commit()
    current().emit("account_moved", account=account, target=target)
    local_followers = db.session.scalars(
        select(Account)
        .join(Follow, Follow.account_id == Account.id)
        .where(Follow.target_account_id == account.id, Account.domain.is_(None))
    )
    for follower in list(local_followers):
        relationships.unfollow(follower, account)
        try:
            relationships.follow(follower, target)
        except FedikitError:  # blocked either way: they just stop following
            continue


def remove_remote(account: Account) -> None:
    """A remote account was deleted by its server: its follows end, its statuses go, the account stays
    (suspended and emptied) so that nothing its server sends about it later brings it back."""
    if account.local:
        raise ValidationError("Validation failed: only remote accounts are removed this way")
    _empty(account)


def delete_local(account: Account) -> None:
    """Delete a local account (``tootctl accounts delete``): its login, follows and statuses go.

    The account row stays, suspended and emptied, so that its name is never
    given to someone else and other servers are answered "gone". The
    ``account_deleted`` event fires once it is marked, before its follows and
    statuses are removed, so that protocol plugins can still tell its
    followers' servers.
    """
    if not account.local:
        raise ValidationError("Validation failed: only local accounts are deleted this way")
    account.suspended_at = account.suspended_at or utcnow()
    db.session.commit()
    current().emit("account_deleted", account=account)
    if account.user is not None:
        db.session.delete(account.user)  # its tokens and sign-in go with it
        db.session.commit()
    _empty(account)


def _empty(account: Account) -> None:
    """End every follow and request of ``account`` both ways, remove its statuses, empty its profile."""
    from fedikit.core.models import Follow, FollowRequest
    from fedikit.core.services import relationships, statuses

    for model in (Follow, FollowRequest):
        pairs = db.session.execute(
            select(model.account_id, model.target_account_id).where(
                (model.account_id == account.id) | (model.target_account_id == account.id)
            )
        ).all()
        for follower_id, target_id in pairs:
            follower, target = db.session.get(Account, follower_id), db.session.get(Account, target_id)
            if follower is not None and target is not None:
                relationships.unfollow(follower, target)
    statuses.remove_all_of(account)
    account.suspended_at = account.suspended_at or utcnow()
    account.display_name, account.note, account.fields = "", "", []
    account.avatar_remote_url = account.header_remote_url = None
    unset_profile_images(account, PROFILE_IMAGES)
    db.session.commit()
    current().search.remove("accounts", account.id)  # found by nobody any more


class Refusal(enum.StrEnum):
    """Why a user may not sign in or use a token: the one set of rules, worded by each caller."""

    DISABLED = "disabled"
    SUSPENDED = "suspended"
    UNCONFIRMED = "unconfirmed"
    PENDING = "pending"


def refusal(user: User) -> Refusal | None:
    """The first reason ``user`` may not sign in (or use a token) right now; None when they may."""
    if user.disabled:
        return Refusal.DISABLED
    if user.account.suspended_at is not None:
        return Refusal.SUSPENDED
    if user.confirmed_at is None:
        return Refusal.UNCONFIRMED
    if not user.approved:
        return Refusal.PENDING
    return None


SIGN_IN_REFUSALS = {
    Refusal.DISABLED: "Your login is currently disabled.",
    Refusal.SUSPENDED: "Your account has been suspended.",
    Refusal.UNCONFIRMED: "You have to confirm your e-mail address before continuing.",
    Refusal.PENDING: "Your account is still waiting for approval.",
}


def sign_in_refusal(user: User) -> str | None:
    """Why ``user`` may not sign in right now, as the sign-in page says it; None when they may."""
    reason = refusal(user)
    return SIGN_IN_REFUSALS[reason] if reason is not None else None


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise ValidationError("password must be at least 8 characters")
    user.password_hash = hash_password(password)
    db.session.commit()
