"""/api/v1/timelines: home and public."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.services import timelines as service


@scoped("read:statuses")
def home():  # noqa: ANN201
    viewer = current_account()
    page = service.home(viewer, **pagination.page())
    return jsonify(status_entities(viewer, page)), 200, pagination.link_header([s.id for s in page])


@scoped("read:statuses", public=True)
def public():  # noqa: ANN201
    viewer = current_account()
    page = service.public(
        viewer,
        local=params.boolean("local"),
        remote=params.boolean("remote"),
        only_media=params.boolean("only_media"),
        **pagination.page(),
    )
    return jsonify(status_entities(viewer, page)), 200, pagination.link_header([s.id for s in page])


@scoped("read:statuses", public=True)
def tag(hashtag: str):  # noqa: ANN201
    viewer = current_account()
    page = service.tag(
        viewer,
        hashtag,
        any_of=params.array("any"),
        all_of=params.array("all"),
        none_of=params.array("none"),
        local=params.boolean("local"),
        remote=params.boolean("remote"),
        only_media=params.boolean("only_media"),
        **pagination.page(),
    )
    return jsonify(status_entities(viewer, page)), 200, pagination.link_header([s.id for s in page])
