"""/api/v1/accounts: who someone is, what they posted, and following them."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from sqlalchemy import exists, select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, current_user, scoped
from fedikit.core.api.lookup import account_or_404
from fedikit.core.api.serializers import accounts as entities
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.api.v1 import media as media_v1
from fedikit.core.db import db
from fedikit.core.models import Account, MediaAttachment, Status, StatusPin, Tag, status_tags
from fedikit.core.services import account_notes as note_service
from fedikit.core.services import accounts as account_service
from fedikit.core.services import relationships as relationship_service
from fedikit.core.services import search as search_service
from fedikit.core.services.media import PROFILE_IMAGES
from fedikit.core.visibility import visible_to


@scoped("read:accounts", "profile")
def verify_credentials():  # noqa: ANN201
    return jsonify(entities.credential_account(current_user()))


@scoped("read:accounts", public=True)
def show(id: str):  # noqa: ANN201, A002
    return jsonify(entities.account(account_or_404(id)))


@scoped("read:accounts", public=True)
def lookup():  # noqa: ANN201
    acct = params.text("acct") or ""
    found = account_service.find_by_acct(acct) if acct else None
    if found is None or found.suspended_at is not None:
        abort(404, "Record not found")
    return jsonify(entities.account(found))


@scoped("read:follows")
def relationships():  # noqa: ANN201
    ids = [i for i in (params.ident(v) for v in params.array("id")) if i is not None][:100]
    targets = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}
    return jsonify(entities.relationships(current_account(), [targets[i] for i in ids if i in targets]))


@scoped("read:statuses", public=True)
def statuses(id: str):  # noqa: ANN201, A002
    author = account_or_404(id)
    viewer = current_account()
    page = pagination.page()
    query = select(Status.id).where(Status.account_id == author.id, visible_to(viewer))
    if params.boolean("exclude_replies"):
        # replies to oneself (threads) stay, as in Mastodon
        query = query.where((Status.in_reply_to_id.is_(None)) | (Status.in_reply_to_account_id == author.id))
    if params.boolean("exclude_reblogs"):
        query = query.where(Status.reblog_of_id.is_(None))
    if params.text("tagged"):
        tag = params.text("tagged").lstrip("#").lower()
        query = query.where(
            exists().where(status_tags.c.status_id == Status.id, status_tags.c.tag_id == Tag.id, Tag.name == tag)
        )
    if params.boolean("only_media"):
        query = query.where(exists().where(MediaAttachment.status_id == Status.id))
    if params.boolean("pinned"):
        query = query.where(exists().where(StatusPin.status_id == Status.id, StatusPin.account_id == author.id))
    ids = pagination.rows(query, Status.id, page)
    rows = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(ids)))}
    page_statuses = [rows[i] for i in ids if i in rows]
    return jsonify(status_entities(viewer, page_statuses)), 200, pagination.link_header(ids)


@scoped("write:follows", "follow")
def follow(id: str):  # noqa: ANN201, A002
    target = account_or_404(id)
    viewer = current_account()
    relationship_service.follow(
        viewer, target, reblogs=params.boolean("reblogs", True), notify_posts=params.boolean("notify", False)
    )
    return jsonify(entities.relationships(viewer, [target])[0])


@scoped("write:follows", "follow")
def unfollow(id: str):  # noqa: ANN201, A002
    target = account_or_404(id)
    viewer = current_account()
    relationship_service.unfollow(viewer, target)
    return jsonify(entities.relationships(viewer, [target])[0])


def _relationship_after(action):  # noqa: ANN001, ANN202
    def view(id: str):  # noqa: ANN202, A002
        target = account_or_404(id)
        viewer = current_account()
        action(viewer, target)
        return jsonify(entities.relationships(viewer, [target])[0])

    return view


block = scoped("write:blocks", "follow")(_relationship_after(relationship_service.block))
block.__name__ = "block"
unblock = scoped("write:blocks", "follow")(_relationship_after(relationship_service.unblock))
unblock.__name__ = "unblock"
unmute = scoped("write:mutes", "follow")(_relationship_after(relationship_service.unmute))
unmute.__name__ = "unmute"


@scoped("write:mutes", "follow")
def mute(id: str):  # noqa: ANN201, A002
    target = account_or_404(id)
    viewer = current_account()
    relationship_service.mute(
        viewer, target, notifications=params.boolean("notifications", True), duration=params.integer("duration", 0) or 0
    )
    return jsonify(entities.relationships(viewer, [target])[0])


def _follow_list(id: str, *, followers: bool):  # noqa: ANN202, A002
    from fedikit.core.models import Follow

    target = account_or_404(id)
    page = pagination.page(default=40, maximum=80)
    if followers:
        query = select(Follow).where(Follow.target_account_id == target.id)
        other = Follow.account_id
    else:
        query = select(Follow).where(Follow.account_id == target.id)
        other = Follow.target_account_id
    query = query.join(Account, Account.id == other).where(Account.suspended_at.is_(None))
    rows = pagination.rows(query, Follow.id, page)
    ids = [r.account_id if followers else r.target_account_id for r in rows]
    found = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))}
    return jsonify([entities.account(found[i]) for i in ids]), 200, pagination.link_header([r.id for r in rows])


@scoped("read:accounts", public=True)
def followers(id: str):  # noqa: ANN201, A002
    return _follow_list(id, followers=True)


@scoped("read:accounts", public=True)
def following(id: str):  # noqa: ANN201, A002
    return _follow_list(id, followers=False)


PRIVACY = ("public", "unlisted", "private")


@scoped("write:accounts")
def update_credentials():  # noqa: ANN201
    """Profile fields, images and posting defaults; attributes that are not sent stay as they are.

    ``avatar`` and ``header`` are multipart files. All or nothing: a refused
    value (422) leaves the profile and settings as they were.
    """
    media_v1.limit_body()  # before the body is read
    user = current_user()
    account = user.account
    changes: dict[str, Any] = {}
    for name in ("display_name", "note"):
        if params.text(name) is not None:
            changes[name] = params.text(name)
    for name in ("locked", "bot", "discoverable", "indexable"):
        if params.fields().get(name) is not None:
            changes[name] = params.boolean(name)
    fields = _fields_attributes()
    if fields is not None:
        changes["fields"] = fields
    for name in PROFILE_IMAGES:
        upload = request.files.get(name)
        if upload is not None:
            changes[name] = upload.stream
    settings = dict(user.settings or {})
    privacy = params.text("source[privacy]")
    if privacy is not None:
        if privacy not in PRIVACY:
            abort(422, "Validation failed: Default privacy is not included in the list")
        settings["default_privacy"] = privacy
    if params.fields().get("source[sensitive]") is not None:
        settings["default_sensitive"] = params.boolean("source[sensitive]")
    language = params.text("source[language]")
    if language is not None:
        settings["default_language"] = language or None
    if settings != (user.settings or {}):
        user.settings = settings  # committed with the profile, or on its own
    if changes:
        account_service.update_profile(account, **changes)
    else:
        db.session.commit()
    return jsonify(entities.credential_account(user))


def _fields_attributes() -> list[dict[str, str]] | None:
    """``fields_attributes[0][name]=…`` (form) or ``fields_attributes[][name]`` (JSON array), in order."""
    data = params.fields()
    indexed: dict[str, dict[str, str]] = {}
    for key in data:
        if not key.startswith("fields_attributes["):
            continue
        parts = key[len("fields_attributes") :].strip("[]").split("][")
        if len(parts) == 2:
            indexed.setdefault(parts[0], {})[parts[1]] = str(data.get(key))
    listed = data.getlist("fields_attributes[][name]")
    if listed:
        values = data.getlist("fields_attributes[][value]")
        return [{"name": n, "value": v} for n, v in zip(listed, values, strict=False) if n or v]
    if not indexed:
        return None
    ordered = [indexed[k] for k in sorted(indexed, key=lambda k: int(k) if k.isdigit() else 0)]
    return [
        {"name": f.get("name", ""), "value": f.get("value", "")} for f in ordered if f.get("name") or f.get("value")
    ]


@scoped("read:follows")
def familiar_followers():  # noqa: ANN201
    """For each account: the viewer's follows who also follow it."""
    from fedikit.core.models import Follow

    viewer = current_account()
    ids = [i for i in (params.ident(v) for v in params.array("id")) if i is not None][:100]
    out = []
    for target_id in ids:
        mine = select(Follow.target_account_id).where(Follow.account_id == viewer.id)
        follower_ids = select(Follow.account_id).where(
            Follow.target_account_id == target_id, Follow.account_id.in_(mine)
        )
        accounts = db.session.scalars(
            select(Account).where(Account.id.in_(follower_ids), Account.suspended_at.is_(None)).limit(40)
        )
        out.append({"id": str(target_id), "accounts": [entities.account(a) for a in accounts]})
    return jsonify(out)


@scoped("read:accounts")
def search():  # noqa: ANN201
    """Accounts matching ``q``, through the same search as /api/v2/search; ``following``: followed ones only."""
    from fedikit.core.models import Follow

    viewer = current_account()
    query = (params.text("q") or "").strip()
    limit = params.integer("limit", 40, minimum=1, maximum=80)
    offset = params.integer("offset", 0, minimum=0) or 0
    among = None
    if params.boolean("following"):
        among = select(Follow.target_account_id).where(Follow.account_id == viewer.id)
    if not query:
        return jsonify([])
    resolve = params.boolean("resolve")
    found = search_service.find_accounts(query, resolve=resolve, limit=limit, offset=offset, among=among)
    return jsonify([entities.account(a) for a in found])


@scoped("write:accounts")
def note(id: str):  # noqa: ANN201, A002
    """The viewer's private note on an account (``comment``; blank removes it); answers the Relationship."""
    target = account_or_404(id)
    viewer = current_account()
    note_service.set_note(viewer, target, params.text("comment"))
    return jsonify(entities.relationships(viewer, [target])[0])
