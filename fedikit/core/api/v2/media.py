"""/api/v2/media: uploading media attachments.

Mastodon answers 202 with a null ``url`` while video or audio is transcoded
in the background. fedikit does not transcode: video and audio are kept as
uploaded, and images are processed during the request, so the answer is 200
with the ``url`` set (202 only for an attachment still marked as processing).
"""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api.auth import scoped
from fedikit.core.api.serializers.statuses import media_attachment as media_entity
from fedikit.core.api.v1 import media as media_v1


@scoped("write:media")
def create():  # noqa: ANN201
    media = media_v1.upload()
    entity = media_entity(media)
    if media.processing != "complete":
        entity["url"] = None
        return jsonify(entity), 202
    return jsonify(entity)
