"""/api/v1/markers: the last read position in the home timeline and in notifications, per user.

Saving a marker to a new position increments its version; saving the same
position changes nothing. Two clients saving at once: one of them gets 409,
as Mastodon's optimistic locking answers.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from fedikit.core.api import params
from fedikit.core.api.auth import current_user, scoped
from fedikit.core.api.serializers.common import iso
from fedikit.core.db import db, utcnow
from fedikit.core.models import Marker

TIMELINES = ("home", "notifications")
CONFLICT = "Conflict during update, please try again"


def entity(marker: Marker) -> dict[str, Any]:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.lock_version,
        "updated_at": iso(marker.updated_at),
    }


def _markers(user_id: int, timelines: list[str]) -> dict[str, Marker]:
    if not timelines:
        return {}
    rows = db.session.scalars(select(Marker).where(Marker.user_id == user_id, Marker.timeline.in_(timelines)))
    return {m.timeline: m for m in rows}


@scoped("read:statuses")
def index():  # noqa: ANN201
    user = current_user()
    wanted = [t for t in dict.fromkeys(params.array("timeline")) if t in TIMELINES]
    found = _markers(user.id, wanted)
    return jsonify({t: entity(found[t]) for t in wanted if t in found})


@scoped("write:statuses")
def create():  # noqa: ANN201
    user = current_user()
    data = params.fields()
    given: dict[str, int] = {}
    for timeline in TIMELINES:
        key = f"{timeline}[last_read_id]"
        if key not in data:
            continue
        raw = params.text(key)
        last_read_id = params.ident(raw)
        if last_read_id is None:
            abort(422, "Validation failed: Last read can't be blank" if not raw else "Last read id is not an id")
        given[timeline] = last_read_id
    existing = _markers(user.id, list(given))
    for timeline, last_read_id in given.items():
        marker = existing.get(timeline)
        if marker is None:
            db.session.add(Marker(user_id=user.id, timeline=timeline, last_read_id=last_read_id, lock_version=0))
        elif marker.last_read_id != last_read_id:
            done = db.session.execute(
                update(Marker)
                .where(Marker.id == marker.id, Marker.lock_version == marker.lock_version)
                .values(last_read_id=last_read_id, lock_version=marker.lock_version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:
                abort(409, CONFLICT)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent request created the same marker first
        db.session.rollback()
        abort(409, CONFLICT)
    saved = _markers(user.id, list(given))
    for marker in saved.values():
        db.session.refresh(marker)
    return jsonify({t: entity(saved[t]) for t in given if t in saved})
