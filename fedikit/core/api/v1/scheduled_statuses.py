"""/api/v1/scheduled_statuses: the caller's posts waiting for their time (owner only: 404 for anyone else)."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from sqlalchemy import select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.common import iso
from fedikit.core.api.serializers.statuses import media_attachment
from fedikit.core.db import db
from fedikit.core.models import MediaAttachment, ScheduledStatus
from fedikit.core.pagination import newest_first, paginate
from fedikit.core.services import scheduled as service


def entity(row: ScheduledStatus) -> dict[str, Any]:
    """Mastodon's ScheduledStatus: when, the parameters kept, and the media it will carry."""
    kept = dict(row.params or {})
    ids = [int(m) for m in kept.get("media_ids") or [] if str(m).isdigit()]
    media = []
    if ids:
        found = {
            m.id: m
            for m in db.session.scalars(
                select(MediaAttachment).where(MediaAttachment.id.in_(ids), MediaAttachment.account_id == row.account_id)
            )
        }
        media = [media_attachment(found[i]) for i in ids if i in found]
    return {
        "id": str(row.id),
        "scheduled_at": iso(row.scheduled_at),
        "params": kept,
        "media_attachments": media,
    }


@scoped("read:statuses")
def index():  # noqa: ANN201
    viewer = current_account()
    page = pagination.page()
    query = select(ScheduledStatus).where(ScheduledStatus.account_id == viewer.id)
    rows = newest_first(list(db.session.scalars(paginate(query, ScheduledStatus.id, **page))), min_id=page["min_id"])
    return jsonify([entity(r) for r in rows]), 200, pagination.link_header([r.id for r in rows])


@scoped("read:statuses")
def show(id: str):  # noqa: ANN201, A002
    return jsonify(entity(service.owned(current_account(), params.ident(id))))


@scoped("write:statuses")
def update(id: str):  # noqa: ANN201, A002
    row = service.owned(current_account(), params.ident(id))
    raw = params.text("scheduled_at")
    if raw:
        moment = service.parse_time(raw)
        if service.is_past(moment):
            abort(422, "Validation failed: Scheduled at must be at least 5 minutes in the future")
        row = service.reschedule(row, moment)
    return jsonify(entity(row))


@scoped("write:statuses")
def destroy(id: str):  # noqa: ANN201, A002
    service.cancel(service.owned(current_account(), params.ident(id)))
    return jsonify({})
