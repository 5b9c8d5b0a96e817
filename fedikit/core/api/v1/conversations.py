"""/api/v1/conversations: the viewer's direct conversations; mark one read, or drop it from the list."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.conversations import conversations as entities
from fedikit.core.services import conversations as service


@scoped("read:statuses")
def index():  # noqa: ANN201
    viewer = current_account()
    views, cursor = service.page(viewer, **pagination.page())
    return jsonify(entities(viewer, views)), 200, pagination.link_header(cursor)


@scoped("write:conversations")
def read(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    view = service.mark_read(viewer, service.owned(viewer, params.ident(id)))
    return jsonify(entities(viewer, [view])[0])


@scoped("write:conversations")
def destroy(id: str):  # noqa: ANN201, A002
    viewer = current_account()
    service.remove(viewer, service.owned(viewer, params.ident(id)))
    return jsonify({})
