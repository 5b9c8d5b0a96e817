"""Serving stored media at /system/<key>."""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, abort, send_file

from fedikit.core.state import current
from fedikit.plugin_api import BackendError

bp = Blueprint("local_media", __name__)


@bp.get("/system/<path:key>")
def media(key: str) -> Response:
    store = current().media
    path_of = getattr(store, "path", None)
    if path_of is None:  # another media backend is chosen; it serves its own files
        abort(404)
    try:
        path = path_of(key)
    except BackendError:
        abort(404)
    if not path.is_file():
        abort(404)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = send_file(path, mimetype=content_type, max_age=31536000, conditional=True)
    # Uploaded files must never be taken for pages or ActivityPub documents of this site.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
