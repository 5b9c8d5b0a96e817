"""Discovery the instance offers: suggestions (none yet) and trends (off unless ``TRENDS_ENABLED``)."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.api.v1.tags import tag_entities
from fedikit.core.services import trends as service


@scoped("read", user=True)
def suggestions():  # noqa: ANN201
    return jsonify([])


def _offset_page(default: int) -> tuple[int, int]:
    """``offset`` and ``limit`` as Mastodon's trends take them: at most twice the default per page."""
    return params.integer("offset", 0, minimum=0) or 0, params.integer("limit", default, minimum=1, maximum=2 * default)


# Trends answer anyone, with or without a token, as Mastodon's do: no scope is checked.
@scoped(public=True)
def trend_tags():  # noqa: ANN201
    """Trending hashtags (10 a page by default); an empty list while trends are off."""
    if not service.enabled():
        return jsonify([])
    offset, limit = _offset_page(10)
    found = service.tags(limit=limit, offset=offset)
    headers = pagination.offset_link_header(offset, limit, len(found))
    return jsonify(tag_entities(found, current_account())), 200, headers


@scoped(public=True)
def trend_statuses():  # noqa: ANN201
    """Trending statuses the caller may see (20 a page by default); an empty list while trends are off."""
    if not service.enabled():
        return jsonify([])
    viewer = current_account()
    offset, limit = _offset_page(20)
    found = service.statuses(viewer, limit=limit, offset=offset)
    headers = pagination.offset_link_header(offset, limit, len(found))
    return jsonify(status_entities(viewer, found)), 200, headers


@scoped(public=True)
def trend_links():  # noqa: ANN201
    """Trending links: none, as fedikit does not fetch link previews."""
    return jsonify([])
