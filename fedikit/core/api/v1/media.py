"""/api/v1/media: uploading (deprecated v1 form), reading, describing and deleting media attachments."""

from __future__ import annotations

from flask import abort, jsonify, request

from fedikit.core.api import params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.statuses import media_attachment as media_entity
from fedikit.core.models import MediaAttachment
from fedikit.core.services import media as service

# The whole request: the file, a thumbnail and the form around them. Mastodon's proxy answers 413 past 99 MB.
MAX_BODY = service.VIDEO_LIMIT + service.IMAGE_LIMIT + 1024 * 1024


def limit_body() -> None:
    """Refuse an oversized body before any of it is read; a body of unknown length is cut off at the cap."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        abort(413, f"Validation failed: File file size must be less than {service.VIDEO_LIMIT // (1024 * 1024)} MB")
    request.max_content_length = MAX_BODY


def _file(name: str):  # noqa: ANN202 - a stream or None
    stored = request.files.get(name)
    return stored.stream if stored is not None else None


def upload() -> MediaAttachment:
    """The shared part of v1 and v2 uploads: ``file`` plus optional ``description``, ``focus``, ``thumbnail``."""
    limit_body()
    return service.upload(
        current_account(),
        _file("file"),
        description=params.text("description"),
        focus=params.text("focus"),
        thumbnail=_file("thumbnail"),
    )


def status_code(media: MediaAttachment) -> int:
    """Mastodon's 206 while the file is still being processed."""
    return 200 if media.processing == "complete" else 206


def _own(raw_id: str) -> MediaAttachment:
    media = service.find_own_unattached(current_account(), params.ident(raw_id))
    if media.processing == "failed":
        abort(422, "Error processing thumbnail for uploaded media")
    return media


@scoped("write:media")
def create():  # noqa: ANN201
    return jsonify(media_entity(upload()))  # v1 always answers once the file is processed


@scoped("write:media")
def show(id: str):  # noqa: ANN201, A002
    media = _own(id)
    return jsonify(media_entity(media)), status_code(media)


@scoped("write:media")
def update(id: str):  # noqa: ANN201, A002
    limit_body()
    media = _own(id)
    fields = params.fields()
    media = service.update(
        current_account(),
        media,
        description=params.text("description") if "description" in fields else service.UNSET,
        focus=params.text("focus") if "focus" in fields else service.UNSET,
        thumbnail=_file("thumbnail"),
    )
    return jsonify(media_entity(media)), status_code(media)


@scoped("write:media")
def destroy(id: str):  # noqa: ANN201, A002
    service.delete(current_account(), params.ident(id))
    return jsonify({})
