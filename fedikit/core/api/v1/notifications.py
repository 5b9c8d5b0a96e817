"""/api/v1/notifications: list, show, dismiss, clear."""

from __future__ import annotations

from flask import abort, jsonify
from sqlalchemy import delete, select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.notifications import notifications as entities
from fedikit.core.db import db
from fedikit.core.models import Notification, Status
from fedikit.core.visibility import can_see, visible_to

TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update")


def _visible(viewer):  # noqa: ANN001, ANN202
    """Notifications whose status the viewer may still see (or that have none)."""
    return Notification.status_id.is_(None) | Notification.status_id.in_(select(Status.id).where(visible_to(viewer)))


@scoped("read:notifications")
def index():  # noqa: ANN201
    viewer = current_account()
    page = pagination.page(default=40, maximum=80)
    query = select(Notification).where(Notification.account_id == viewer.id, _visible(viewer))
    types = [t for t in params.array("types") if t in TYPES]
    if types:
        query = query.where(Notification.type.in_(types))
    excluded = params.array("exclude_types")
    if excluded:
        query = query.where(Notification.type.not_in(excluded))
    if params.ident(params.text("account_id")):
        query = query.where(Notification.from_account_id == params.ident(params.text("account_id")))
    rows = pagination.rows(query, Notification.id, page)
    return jsonify(entities(viewer, rows)), 200, pagination.link_header([n.id for n in rows])


def _own(raw_id: str) -> Notification:
    viewer = current_account()
    notification_id = params.ident(raw_id)
    found = db.session.get(Notification, notification_id) if notification_id is not None else None
    if found is None or found.account_id != viewer.id:
        abort(404, "Record not found")
    if found.status_id is not None and not can_see(viewer, db.session.get(Status, found.status_id)):
        abort(404, "Record not found")  # the same rule as the list: a status one may no longer see
    return found


@scoped("read:notifications")
def show(id: str):  # noqa: ANN201, A002
    return jsonify(entities(current_account(), [_own(id)])[0])


@scoped("write:notifications")
def dismiss(id: str):  # noqa: ANN201, A002
    db.session.delete(_own(id))
    db.session.commit()
    return jsonify({})


@scoped("write:notifications")
def clear():  # noqa: ANN201
    db.session.execute(delete(Notification).where(Notification.account_id == current_account().id))
    db.session.commit()
    return jsonify({})
