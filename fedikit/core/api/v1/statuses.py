"""/api/v1/statuses: posting (now or scheduled, with a poll), reading, editing, deleting, favouriting,
boosting, pinning and muting a conversation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, jsonify, request
from sqlalchemy import select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, current_token, scoped
from fedikit.core.api.lookup import status_or_404
from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.common import iso
from fedikit.core.api.serializers.statuses import media_attachment
from fedikit.core.api.serializers.statuses import status as status_entity
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.api.v1.scheduled_statuses import entity as scheduled_entity
from fedikit.core.db import db
from fedikit.core.models import Account, Favourite, MediaAttachment, ScheduledStatus, Status, StatusEdit
from fedikit.core.pagination import newest_first, paginate
from fedikit.core.services import polls as poll_service
from fedikit.core.services import scheduled as scheduled_service
from fedikit.core.services import statuses as service
from fedikit.core.visibility import visible_to

CONTEXT_LIMIT = 4096  # statuses in one thread answer, as Mastodon's
CONTEXT_DEPTH = 64


IDEMPOTENCY_KEY_MAX = 512


def _media_ids() -> list[int]:
    media_ids = []
    for raw in params.array("media_ids")[: service.MAX_MEDIA + 1]:  # one too many is enough to refuse
        media_id = params.ident(raw)
        if media_id is None:
            abort(422, f"Validation failed: media {raw!r} not found")
        media_ids.append(media_id)
    return media_ids


def _poll() -> poll_service.PollSpec | None:
    """``poll[options][]``, ``poll[expires_in]``, ``poll[multiple]``, ``poll[hide_totals]``; None without a poll."""
    if not any(key == "poll" or key.startswith("poll[") for key in params.fields()):
        return None
    return poll_service.spec(
        params.array("poll[options]"),
        params.text("poll[expires_in]"),
        multiple=params.boolean("poll[multiple]"),
        hide_totals=params.boolean("poll[hide_totals]"),
    )


@scoped("write:statuses")
def create():  # noqa: ANN201
    author = current_account()
    key = (request.headers.get("Idempotency-Key") or "").strip()[:IDEMPOTENCY_KEY_MAX]
    if not key:
        return _create(author, None)
    with service.IDEMPOTENCY.hold(author.id, key):
        return _create(author, key)


def _create(author: Account, key: str | None):  # noqa: ANN202
    if key is not None:
        earlier = _earlier(author, key)
        if earlier is not None:
            return jsonify(earlier)
    reply_to = None
    if params.text("in_reply_to_id"):
        reply_to = status_or_404(params.text("in_reply_to_id"), author)
    media_ids = _media_ids()
    poll = _poll()
    token = current_token()
    options = {
        "spoiler_text": params.text("spoiler_text") or "",
        "sensitive": params.boolean("sensitive"),
        "visibility": params.text("visibility") or (token.user.settings or {}).get("default_privacy", "public"),
        "language": params.text("language") or None,
        "in_reply_to": reply_to,
        "media_ids": media_ids,
        "application_id": token.application_id,
        "poll": poll,
    }
    raw_time = params.text("scheduled_at")
    moment = scheduled_service.parse_time(raw_time) if raw_time else None
    if moment is not None and not scheduled_service.is_past(moment):  # a past time posts now, as in Mastodon
        row = scheduled_service.schedule(author, moment, params.text("status") or "", idempotency=key, **options)
        if key is not None:
            service.IDEMPOTENCY.put(author.id, key, "scheduled_status", row.id)
        return jsonify(scheduled_entity(row))
    status = service.post(author, params.text("status") or "", **options)
    if key is not None:
        service.IDEMPOTENCY.put(author.id, key, "status", status.id)
    return jsonify(status_entity(author, status, just_posted=True))


def _earlier(author: Account, key: str) -> dict[str, Any] | None:
    """What the first request with this Idempotency-Key made, if it is still there."""
    found = service.IDEMPOTENCY.get(author.id, key)
    if found is None:
        return None
    kind, object_id = found
    if kind == "scheduled_status":
        row = db.session.get(ScheduledStatus, object_id)
        if row is not None and row.account_id == author.id:
            return scheduled_entity(row)
        return None
    status = db.session.get(Status, object_id)
    if status is not None and status.account_id == author.id:
        return status_entity(author, status)
    return None


@scoped("read:statuses", public=True)
def show(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    return jsonify(status_entity(viewer, status_or_404(id, viewer)))


@scoped("write:statuses")
def destroy(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    if status.account_id != viewer.id or status.reblog_of_id is not None:
        abort(404, "Record not found")
    entity = status_entity(viewer, status)
    removed = service.delete(viewer, status)
    entity["text"] = removed.text  # Mastodon answers with the source, for "delete and redraft"
    return jsonify(entity)


@scoped("read:statuses", public=True)
def context(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    ancestors = []
    parent_id = status.in_reply_to_id
    while parent_id is not None and len(ancestors) < CONTEXT_DEPTH:
        parent = db.session.scalar(select(Status).where(Status.id == parent_id, visible_to(viewer)))
        if parent is None:
            break
        ancestors.append(parent)
        parent_id = parent.in_reply_to_id
    ancestors.reverse()
    descendants: list[Status] = []
    frontier = [status.id]
    while frontier and len(descendants) < CONTEXT_LIMIT:
        children = list(
            db.session.scalars(
                select(Status)
                .where(Status.in_reply_to_id.in_(frontier), visible_to(viewer))
                .order_by(Status.id)
                .limit(CONTEXT_LIMIT - len(descendants))
            )
        )
        descendants.extend(children)
        frontier = [c.id for c in children]
    descendants.sort(key=lambda s: s.id)
    return jsonify(ancestors=status_entities(viewer, ancestors), descendants=status_entities(viewer, descendants))


@scoped("write:statuses")
def reblog(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    boost = service.reblog(viewer, status, visibility=params.text("visibility") or "public")
    return jsonify(status_entity(viewer, boost))


@scoped("write:statuses")
def unreblog(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    if status.reblog_of_id is not None:
        status = db.session.get(Status, status.reblog_of_id)
    service.unreblog(viewer, status)
    return jsonify(status_entity(viewer, status))


def _who(id: str, model: type, column: Any):  # noqa: ANN202, A002
    """Accounts that favourited or boosted a status the viewer can see, newest first, paginated."""
    viewer = current_account()
    status = status_or_404(id, viewer)
    page = pagination.page(default=40, maximum=80)
    query = select(model).where(column == status.id)
    if model is Status:
        query = query.where(visible_to(viewer))
    rows = newest_first(list(db.session.scalars(paginate(query, model.id, **page))), min_id=page["min_id"])
    ids = [r.account_id for r in rows]
    found = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids), Account.suspended_at.is_(None)))
    }
    body = [account_entity(found[i]) for i in ids if i in found]
    return jsonify(body), 200, pagination.link_header([r.id for r in rows])


@scoped("read:accounts", public=True)
def favourited_by(id: str):  # noqa: ANN201, A002
    return _who(id, Favourite, Favourite.status_id)


@scoped("read:accounts", public=True)
def reblogged_by(id: str):  # noqa: ANN201, A002
    return _who(id, Status, Status.reblog_of_id)


def _own_or_404(id: str, viewer: Account) -> Status:  # noqa: A002
    """The caller's own status (not a boost); anyone else's is "not found", as Mastodon's edit answers."""
    status = status_or_404(id, viewer)
    if status.account_id != viewer.id or status.reblog_of_id is not None:
        abort(404, "Record not found")
    return status


@scoped("write:statuses")
def update(id: str):  # noqa: ANN201, A002
    """Edit: the request is the whole new state (no ``media_ids`` removes media, no ``poll`` removes the poll)."""
    viewer = current_account()
    status = _own_or_404(id, viewer)
    edited = service.edit(
        viewer,
        status,
        params.text("status") or "",
        spoiler_text=params.text("spoiler_text") or "",
        sensitive=params.boolean("sensitive", default=status.sensitive),
        language=params.text("language") or None,
        media_ids=_media_ids(),
        poll=_poll(),
    )
    return jsonify(status_entity(viewer, edited))


@scoped("read:statuses", public=True)
def history(id: str):  # noqa: ANN201, A002
    """Every version, oldest first; a status never edited has one, itself."""
    viewer = current_account()
    status = status_or_404(id, viewer)
    if status.reblog_of_id is not None:
        abort(404, "Record not found")
    versions = list(status.edits)
    if not versions:
        poll = poll_service.for_status(status.id)
        versions = [
            StatusEdit(
                status_id=status.id,
                account_id=status.account_id,
                text=status.text,
                content=status.content,
                spoiler_text=status.spoiler_text,
                sensitive=status.sensitive,
                media_attachment_ids=[m.id for m in status.media_attachments],
                poll_options=list(poll.options) if poll is not None else None,
                created_at=status.edited_at or status.created_at,
            )
        ]
    wanted = {int(i) for v in versions for i in v.media_attachment_ids or []}
    media = (
        {m.id: m for m in db.session.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(wanted)))}
        if wanted
        else {}
    )
    author = account_entity(status.account)
    body = []
    for version in versions:
        entry: dict[str, Any] = {
            "content": version.content,
            "spoiler_text": version.spoiler_text,
            "sensitive": version.sensitive,
            "created_at": iso(version.created_at),
            "account": author,
            "media_attachments": [
                media_attachment(media[int(i)]) for i in version.media_attachment_ids or [] if int(i) in media
            ],
            "emojis": [],
        }
        if version.poll_options:
            entry["poll"] = {"options": [{"title": title} for title in version.poll_options]}
        body.append(entry)
    return jsonify(body)


@scoped("read:statuses")
def source(id: str):  # noqa: ANN201, A002
    """The text as typed, for editing: the author's statuses only (anyone else: 404, as Mastodon)."""
    viewer = current_account()
    status = status_or_404(id, viewer)
    if status.account_id != viewer.id or status.reblog_of_id is not None:
        abort(404, "Record not found")
    return jsonify(id=str(status.id), text=status.text, spoiler_text=status.spoiler_text)


def _acting_on(name: str, action: Callable[[Account, Status], Any], *scopes: str) -> Callable[..., Any]:
    """A view doing ``action(viewer, status)`` to a status the viewer can see, answering with the status."""

    def view(id: str):  # noqa: ANN202, A002
        viewer = current_account()
        status = status_or_404(id, viewer)
        action(viewer, status)
        return jsonify(status_entity(viewer, status))

    view.__name__ = view.__qualname__ = name
    return scoped(*scopes)(view)


favourite = _acting_on("favourite", service.favourite, "write:favourites")
unfavourite = _acting_on("unfavourite", service.unfavourite, "write:favourites")
bookmark = _acting_on("bookmark", service.bookmark, "write:bookmarks")
unbookmark = _acting_on("unbookmark", service.unbookmark, "write:bookmarks")
pin = _acting_on("pin", service.pin, "write:accounts")
unpin = _acting_on("unpin", service.unpin, "write:accounts")
mute = _acting_on("mute", service.mute_conversation, "write:mutes")
unmute = _acting_on("unmute", service.unmute_conversation, "write:mutes")
