"""/api/v1/notifications: list, unread count, show, dismiss, clear."""

from __future__ import annotations

from flask import abort, jsonify
from sqlalchemy import Select, delete, func, select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, current_user, scoped
from fedikit.core.api.serializers.notifications import notifications as entities
from fedikit.core.db import db
from fedikit.core.models import Account, Marker, Notification, Status
from fedikit.core.visibility import can_see, visible_to

TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update")
UNREAD_COUNT_DEFAULT, UNREAD_COUNT_MAX = 100, 1000


def _visible(viewer):  # noqa: ANN001, ANN202
    """Notifications whose status the viewer may still see (or that have none)."""
    return Notification.status_id.is_(None) | Notification.status_id.in_(select(Status.id).where(visible_to(viewer)))


def _browsable(viewer: Account) -> Select[tuple[Notification]]:
    """The viewer's notifications as ``types[]``, ``exclude_types[]`` and ``account_id`` narrow them."""
    query = select(Notification).where(Notification.account_id == viewer.id, _visible(viewer))
    types = [t for t in params.array("types") if t in TYPES]
    if types:
        query = query.where(Notification.type.in_(types))
    excluded = params.array("exclude_types")
    if excluded:
        query = query.where(Notification.type.not_in(excluded))
    if params.ident(params.text("account_id")):
        query = query.where(Notification.from_account_id == params.ident(params.text("account_id")))
    return query


@scoped("read:notifications")
def index():  # noqa: ANN201
    viewer = current_account()
    page = pagination.page(default=40, maximum=80)
    rows = pagination.rows(_browsable(viewer), Notification.id, page)
    return jsonify(entities(viewer, rows)), 200, pagination.link_header([n.id for n in rows])


@scoped("read:notifications")
def unread_count():  # noqa: ANN201
    """``{"count": N}``: notifications newer than the ``notifications`` marker, counted up to ``limit``.

    As Mastodon: ``limit`` defaults to 100 and stops at 1000 (a negative one
    counts as its absolute value); without a marker every notification is unread.
    """
    limit = min(abs(params.integer("limit", UNREAD_COUNT_DEFAULT) or 0), UNREAD_COUNT_MAX)
    marker = select(Marker.last_read_id).where(Marker.user_id == current_user().id, Marker.timeline == "notifications")
    last_read_id = db.session.scalar(marker)
    query = _browsable(current_account()).with_only_columns(Notification.id)
    if last_read_id is not None:
        query = query.where(Notification.id > last_read_id)
    counted = query.order_by(Notification.id.asc()).limit(limit).subquery()
    return jsonify({"count": db.session.scalar(select(func.count()).select_from(counted))})


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
