"""/api/v2/instance: the Instance entity (the pieces are shared with v1's)."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api.auth import scoped
from fedikit.core.api.v1 import instance as shared


# Named apart from v1's ``show``: the route table names endpoints "<module>_<function>".
@scoped(public=True)
def show():  # noqa: ANN201
    enabled, approval = shared.registrations()
    return jsonify(
        {
            "domain": shared.config()["LOCAL_DOMAIN"],
            "title": shared.title(),
            "version": shared.version(),
            "source_url": shared.source_url(),
            "description": shared.description(),
            "usage": {"users": {"active_month": shared.active_month()}},
            "thumbnail": {"url": shared.thumbnail_url(), "blurhash": None, "versions": {}},
            "icon": [],
            "languages": ["en"],
            "configuration": {
                "urls": {
                    "streaming": shared.streaming_url(),
                    "status": None,
                    "about": None,
                    "privacy_policy": None,
                    "terms_of_service": None,
                },
                "vapid": {"public_key": ""},
                "accounts": {
                    "max_featured_tags": shared.MAX_FEATURED_TAGS,
                    "max_pinned_statuses": shared.MAX_PINNED_STATUSES,
                },
                "statuses": shared.status_limits(),
                "media_attachments": {**shared.media_limits(), "description_limit": shared.DESCRIPTION_LIMIT},
                "polls": dict(shared.POLL_LIMITS),
                "translation": {"enabled": False},
                "timelines_access": {
                    "live_feeds": {"local": "public", "remote": "public"},
                    "hashtag_feeds": {"local": "public", "remote": "public"},
                    "trending_link_feeds": {"local": "public", "remote": "public"},
                },
            },
            "registrations": {
                "enabled": enabled,
                "approval_required": approval,
                "reason_required": False,
                "message": None,
                "url": None,
            },
            "api_versions": {"mastodon": shared.MASTODON_API_VERSION},
            "contact": {"email": shared.contact_email(), "account": shared.contact_account()},
            "rules": shared.rule_entities(),
        }
    )
