"""Discovery the instance offers: suggestions (none yet) and trends (off unless ``TRENDS_ENABLED``)."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api.auth import scoped


@scoped("read", user=True)
def suggestions():  # noqa: ANN201
    return jsonify([])


@scoped(public=True)
def trends():  # noqa: ANN201
    """Trending tags, statuses and links: empty while trends are off (the default), as Mastodon answers."""
    return jsonify([])
