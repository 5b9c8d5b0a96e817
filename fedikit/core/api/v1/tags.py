"""/api/v1/tags/:name (and follow/unfollow), /api/v1/followed_tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, jsonify
from sqlalchemy import select

from fedikit.core.api import pagination
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.common import base_url
from fedikit.core.db import db
from fedikit.core.models import Account, Tag, TagFollow
from fedikit.core.services import tags as service
from fedikit.core.services import trends


def tag_entity(
    tag: Tag,
    viewer: Account | None,
    followed: set[int] | None = None,
    history: dict[int, list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    """The Tag entity; for many tags, :func:`tag_entities` looks up ``followed`` and ``history`` once."""
    history = trends.history([tag.id]) if history is None else history
    data: dict[str, Any] = {
        "id": str(tag.id),
        "name": tag.name,
        "url": f"{base_url()}/tags/{tag.name}",
        "history": history.get(tag.id, []),
    }
    if viewer is not None:
        followed = service.following(viewer, [tag.id]) if followed is None else followed
        data["following"] = tag.id in followed
    return data


def tag_entities(tags: Sequence[Tag], viewer: Account | None) -> list[dict[str, Any]]:
    """Tag entities for a page of tags, in their order, with two queries for the lot."""
    ids = [t.id for t in tags]
    followed = service.following(viewer, ids) if viewer is not None else None
    history = trends.history(ids)
    return [tag_entity(t, viewer, followed, history) for t in tags]


@scoped("read", public=True)
def show(name: str):  # noqa: ANN201
    tag = service.find(name)
    if tag is None:
        abort(404, "Record not found")
    return jsonify(tag_entity(tag, current_account()))


@scoped("write:follows", "follow")
def follow(name: str):  # noqa: ANN201
    viewer = current_account()
    tag = service.find_or_create(name)
    service.follow(viewer, tag)
    return jsonify(tag_entity(tag, viewer))


@scoped("write:follows", "follow")
def unfollow(name: str):  # noqa: ANN201
    viewer = current_account()
    tag = service.find(name)
    if tag is None:
        abort(404, "Record not found")
    service.unfollow(viewer, tag)
    return jsonify(tag_entity(tag, viewer))


@scoped("read:follows", "follow")
def followed():  # noqa: ANN201
    viewer = current_account()
    page = pagination.page(default=100, maximum=200)
    query = select(TagFollow).where(TagFollow.account_id == viewer.id)
    rows = pagination.rows(query, TagFollow.id, page)
    found = {t.id: t for t in db.session.scalars(select(Tag).where(Tag.id.in_([r.tag_id for r in rows])))}
    body = tag_entities([found[r.tag_id] for r in rows if r.tag_id in found], viewer)
    return jsonify(body), 200, pagination.link_header([r.id for r in rows])
