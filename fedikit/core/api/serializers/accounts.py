"""Account, CredentialAccount and Relationship."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from fedikit.core.api.serializers.common import iso, media_url
from fedikit.core.db import db
from fedikit.core.models import (
    Account,
    AccountDomainBlock,
    AccountNote,
    Block,
    Follow,
    FollowRequest,
    Mute,
    User,
)
from fedikit.core.renders import key_for
from fedikit.core.state import current

MISSING_AVATAR = "/avatars/original/missing.png"
MISSING_HEADER = "/headers/original/missing.png"


def _image(key: str | None, static_key: str | None, missing: str) -> tuple[str, str]:
    """The image's URL and its still version's (the same unless a still frame of an animation is stored).

    Always one served here: a remote account's images are copies (``activitypub.fetch_profile_images``),
    as Mastodon keeps them, so that reading a profile never tells another server who reads it. Until the
    copy is made, or when the domain's media are rejected or the image cannot be had: the stand-in."""
    url = media_url(key, missing)
    return url, media_url(static_key, missing) if static_key else url


def account(a: Account, *, follow_move: bool = True) -> dict[str, Any]:
    """Mastodon's Account; ``moved`` (the account it moved to) is shown one level deep.

    Kept rendered (fedikit.core.renders) by the row's ``updated_at``; a moved
    account's entity also shows another row, so it is made each time. The
    caller gets its own copy.
    """
    if a.moved_to_account_id:
        moved = db.session.get(Account, a.moved_to_account_id) if follow_move else None
        return _account(a, moved)
    renders = current().renders
    key = key_for(a)
    found = renders.get(key)
    if found is None:
        found = _account(a, None)
        renders.put(key, found)
    return dict(found)


def _account(a: Account, moved: Account | None) -> dict[str, Any]:
    avatar, avatar_static = _image(a.avatar_key, a.avatar_static_key, MISSING_AVATAR)
    header, header_static = _image(a.header_key, a.header_static_key, MISSING_HEADER)
    created = a.created_at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "id": str(a.id),
        "username": a.username,
        "acct": a.acct,
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": a.bot,
        "discoverable": a.discoverable,
        "indexable": a.indexable,
        "group": a.group,
        "created_at": iso(created),  # Mastodon shows the day only, at midnight
        "note": a.note,
        "url": a.url or a.uri,
        "uri": a.uri,
        "avatar": avatar,
        "avatar_static": avatar_static,
        "header": header,
        "header_static": header_static,
        "followers_count": a.followers_count,
        "following_count": a.following_count,
        "statuses_count": a.statuses_count,
        "last_status_at": a.last_status_at.date().isoformat() if a.last_status_at else None,
        "hide_collections": False,
        "noindex": not a.indexable,
        "emojis": [],
        "roles": [],
        "fields": [{"name": f["name"], "value": f["value"], "verified_at": None} for f in a.fields or []],
        **({"memorial": True} if a.memorial else {}),
        **({"suspended": True} if a.suspended_at else {}),
        **({"moved": account(moved, follow_move=False)} if moved is not None else {}),
    }


ROLE_PERMISSIONS = {"owner": "1048575", "admin": "983036", "moderator": "1308", "user": "65536"}


def credential_account(user: User) -> dict[str, Any]:
    a = user.account
    settings = user.settings or {}
    data = account(a)
    data["source"] = {
        "privacy": settings.get("default_privacy", "public"),
        "sensitive": bool(settings.get("default_sensitive", False)),
        "language": settings.get("default_language") or None,
        "note": a.note_source,
        "fields": [{"name": f["name"], "value": f["value"], "verified_at": None} for f in a.fields or []],
        "follow_requests_count": _pending_requests(a),
        "hide_collections": False,
        "discoverable": a.discoverable,
        "indexable": a.indexable,
    }
    data["role"] = role(user)
    return data


def role(user: User) -> dict[str, Any]:
    """Mastodon's Role of a user (its permission bits as Mastodon's default roles hold them)."""
    return {
        "id": {"owner": "3", "admin": "2", "moderator": "1", "user": "-99"}[user.role],
        "name": "" if user.role == "user" else user.role.capitalize(),
        "color": "",
        "permissions": ROLE_PERMISSIONS[user.role],
        "highlighted": user.role != "user",
    }


def admin_account(a: Account, user: User | None) -> dict[str, Any]:
    """Mastodon's Admin::Account: what moderators see of an account and, for a local one, its user.

    Sign-in addresses are not recorded here: ``ip`` is null and ``ips`` empty."""
    return {
        "id": str(a.id),
        "username": a.username,
        "domain": a.domain,
        "created_at": iso(a.created_at),
        "email": user.email if user is not None else None,
        "ip": None,
        "ips": [],
        "locale": (user.locale or "en") if user is not None else None,
        "invite_request": None,
        "role": role(user) if user is not None else None,
        "confirmed": user is not None and user.confirmed_at is not None,
        "approved": user is not None and bool(user.approved),
        "disabled": user is not None and bool(user.disabled),
        "silenced": a.silenced_at is not None,
        "suspended": a.suspended_at is not None,
        "sensitized": False,
        "account": account(a),
    }


def _pending_requests(a: Account) -> int:
    query = select(func.count()).select_from(FollowRequest).where(FollowRequest.target_account_id == a.id)
    return db.session.scalar(query) or 0


def relationships(viewer: Account, targets: Sequence[Account]) -> list[dict[str, Any]]:
    """Relationship entities for many targets in a fixed number of queries."""
    ids = [t.id for t in targets]

    def pairs(model: type, reverse: bool = False) -> dict[int, Any]:
        if reverse:
            rows = db.session.scalars(
                select(model).where(model.account_id.in_(ids), model.target_account_id == viewer.id)
            )
            return {r.account_id: r for r in rows}
        rows = db.session.scalars(select(model).where(model.account_id == viewer.id, model.target_account_id.in_(ids)))
        return {r.target_account_id: r for r in rows}

    following, followed_by = pairs(Follow), pairs(Follow, reverse=True)
    requested, requested_by = pairs(FollowRequest), pairs(FollowRequest, reverse=True)
    blocking, blocked_by = pairs(Block), pairs(Block, reverse=True)
    muting = pairs(Mute)
    domains = set(
        db.session.scalars(select(AccountDomainBlock.domain).where(AccountDomainBlock.account_id == viewer.id))
    )
    written = select(AccountNote.target_account_id, AccountNote.comment).where(
        AccountNote.account_id == viewer.id, AccountNote.target_account_id.in_(ids)
    )
    notes = {target_id: comment for target_id, comment in db.session.execute(written)}
    out = []
    for t in targets:
        follow = following.get(t.id) or requested.get(t.id)
        mute = muting.get(t.id)
        out.append(
            {
                "id": str(t.id),
                "following": t.id in following,
                "showing_reblogs": bool(follow and follow.show_reblogs),
                "notifying": bool(follow and follow.notify),
                "languages": (follow.languages if follow else None),
                "followed_by": t.id in followed_by,
                "blocking": t.id in blocking,
                "blocked_by": t.id in blocked_by,
                "muting": mute is not None,
                "muting_notifications": bool(mute and mute.hide_notifications),
                "requested": t.id in requested,
                "requested_by": t.id in requested_by,
                "domain_blocking": t.domain in domains if t.domain else False,
                "endorsed": False,
                "note": notes.get(t.id, ""),
            }
        )
    return out
