"""/api/v1/statuses: posting, reading, deleting, favouriting and boosting."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from sqlalchemy import select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, current_token, scoped
from fedikit.core.api.lookup import status_or_404
from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.statuses import status as status_entity
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.db import db
from fedikit.core.models import Account, Favourite, Status
from fedikit.core.pagination import newest_first, paginate
from fedikit.core.services import statuses as service
from fedikit.core.visibility import visible_to

CONTEXT_LIMIT = 4096  # statuses in one thread answer, as Mastodon's
CONTEXT_DEPTH = 64


@scoped("write:statuses")
def create():  # noqa: ANN201
    author = current_account()
    reply_to = None
    if params.text("in_reply_to_id"):
        reply_to = status_or_404(params.text("in_reply_to_id"), author)
    media_ids = []
    for raw in params.array("media_ids"):
        media_id = params.ident(raw)
        if media_id is None:
            abort(422, f"Validation failed: media {raw!r} not found")
        media_ids.append(media_id)
    token = current_token()
    status = service.post(
        author,
        params.text("status") or "",
        spoiler_text=params.text("spoiler_text") or "",
        sensitive=params.boolean("sensitive"),
        visibility=params.text("visibility")
        or (current_account().user.settings or {}).get("default_privacy", "public"),
        language=params.text("language") or None,
        in_reply_to=reply_to,
        media_ids=media_ids,
        application_id=token.application_id,
    )
    return jsonify(status_entity(author, status))


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


@scoped("write:favourites")
def favourite(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    service.favourite(viewer, status)
    return jsonify(status_entity(viewer, status))


@scoped("write:favourites")
def unfavourite(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    service.unfavourite(viewer, status)
    return jsonify(status_entity(viewer, status))


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


@scoped("write:bookmarks")
def bookmark(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    service.bookmark(viewer, status)
    return jsonify(status_entity(viewer, status))


@scoped("write:bookmarks")
def unbookmark(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    status = status_or_404(id, viewer)
    service.unbookmark(viewer, status)
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
