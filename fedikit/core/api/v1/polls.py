"""/api/v1/polls: reading a poll and voting (a poll is seen only with its status: 404 otherwise)."""

from __future__ import annotations

from flask import abort, jsonify

from fedikit.core.api import params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.polls import poll as poll_entity
from fedikit.core.db import db
from fedikit.core.models import Account, Poll, Status
from fedikit.core.services import polls as service
from fedikit.core.visibility import can_see


def _poll_or_404(raw_id: str, viewer: Account | None) -> Poll:
    poll_id = params.ident(raw_id)
    found = db.session.get(Poll, poll_id) if poll_id is not None else None
    status = db.session.get(Status, found.status_id) if found is not None else None
    if status is None or not can_see(viewer, status):
        abort(404, "Record not found")
    return found


@scoped("read:statuses", public=True)
def show(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    return jsonify(poll_entity(viewer, _poll_or_404(id, viewer)))


@scoped("write:statuses")
def vote(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    poll = _poll_or_404(id, viewer)
    updated = service.vote(viewer, poll, params.array("choices"))
    return jsonify(poll_entity(viewer, updated))
